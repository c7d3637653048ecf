"""``python -m ivfast.cli``: the ``ivfast`` command."""

import sys

from .main import main

sys.exit(main())
