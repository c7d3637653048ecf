"""The ``ivfast`` parser and entry point: wires the subcommand modules together."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import check, complete, demo, fit, fit_many, iv, surrogate
from .errors import CLIError

__all__ = ["build_parser", "main"]

_SUBCOMMANDS = (demo, iv, check, fit, fit_many, complete, surrogate)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand.

    Returns
    -------
    argparse.ArgumentParser
        Parsing sets ``args.command`` and ``args.run``, the subcommand's runner.
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
