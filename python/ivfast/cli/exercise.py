"""The ``--exercise`` and ``--dividends`` options that ``ivfast iv`` and ``ivfast fit`` share."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_exercise_options", "exercise_options", "american_note"]


def add_exercise_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--exercise`` and ``--dividends`` to a subcommand's parser."""
    parser.add_argument("--exercise", default="auto", choices=("european", "american", "auto"),
                        help="exercise style of the quotes; american: de-Americanise them (European-equivalent "
                             "prices at their American implied vols) before parity; auto (default): american "
                             "when a named root is not a European index root (SPX, SPXW, NDX, RUT, VIX, ...)")
    parser.add_argument("--dividends", metavar="FILE",
                        help="CSV of known cash dividends (columns ex_date, amount) for American quotes; "
                             "default: a yield per expiry implied from the chain")


def exercise_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`ivfast.chain.analyze_chain` keywords of the parsed options."""
    return {"exercise": args.exercise, "dividends": args.dividends}


def american_note(info: dict[str, Any]) -> str | None:
    """One line on the de-Americanisation of a chain (None for European quotes)."""
    curves = info.get("american")
    if curves is None:
        return None
    table = curves.table
    return (f"American quotes de-Americanised: {curves.n_early_exercise} early-exercise-dominated quotes dropped; "
            f"rate {100 * table['rate'].min():.2f}..{100 * table['rate'].max():.2f}%, yield "
            f"{100 * table['dividend_yield'].min():.2f}..{100 * table['dividend_yield'].max():.2f}% over "
            f"{len(table)} expiries ({curves.rounds} rounds)")
