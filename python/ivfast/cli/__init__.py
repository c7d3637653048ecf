"""The ``ivfast`` command line.

Each subcommand lives in its own module with a ``register(subparsers)`` function: ``demo``,
``iv``, ``check``, ``fit``, ``fit-many`` (:mod:`ivfast.cli.fit_many`) and ``surrogate``;
:mod:`ivfast.cli.main` wires them together and turns expected failures
(:class:`~ivfast.cli.errors.CLIError`) into a message and an exit status. Subcommand modules
import their heavy dependencies (pandas, torch, dask) only when they run.
"""

from __future__ import annotations

from .errors import CLIError
from .main import build_parser, main

__all__ = ["build_parser", "main", "CLIError"]
