"""``python -m ivfast.cli``: the ``ivfast`` command."""

import sys

from . import main

sys.exit(main())
