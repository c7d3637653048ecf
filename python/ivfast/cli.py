"""The ``ivfast`` command line.

Each feature module contributes one subcommand through a ``register(subparsers)`` function
in a ``_cli_<name>.py`` module listed in ``_SUBCOMMAND_MODULES``; this file only wires them
together and turns expected failures into a message and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

_SUBCOMMAND_MODULES: tuple[str, ...] = (
    "ivfast._cli_demo",
    "ivfast._cli_iv",
    "ivfast._cli_check",
    "ivfast._cli_fit",
    "ivfast._cli_surrogate",
)


class CLIError(Exception):
    """An expected failure (bad input file, arbitrage found...): printed without traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="ivfast", description="Fast, arbitrage-aware implied-volatility surfaces.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ivfast`` script; returns the process exit code."""
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
