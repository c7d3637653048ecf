"""The ``ivfast`` command line.

Each subcommand lives in its own module with a ``register(subparsers)`` function: ``demo``,
``iv``, ``check``, ``fit`` and ``surrogate``. This package only wires them together and turns
expected failures (:class:`~ivfast.cli.errors.CLIError`) into a message and an exit status.
Subcommand modules import their heavy dependencies (pandas, torch) only when they run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import check, demo, fit, iv, surrogate
from .errors import CLIError

__all__ = ["build_parser", "main", "CLIError"]

_SUBCOMMANDS = (demo, iv, check, fit, surrogate)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(prog="ivfast", description="Fast, arbitrage-aware implied-volatility surfaces.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ivfast`` script.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The process exit status: 0 success, 1 a check found arbitrage, 2 bad input, 130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except CLIError as exc:
        print(f"ivfast {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"ivfast {args.command}: interrupted", file=sys.stderr)
        return 130
