"""``ivfast iv CHAIN``: implied forwards, discount factors and bid/mid/ask vols for every quote."""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np

from .errors import CLIError, column_map
from .exercise import add_exercise_options, american_note, exercise_options

_OUTPUT_COLUMNS = ["source", "root", "expiry", "tau", "strike", "type", "bid", "ask", "mid", "forward", "discount",
                   "k", "iv_bid", "iv_mid", "iv_ask", "reason"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``iv`` subcommand to the ``ivfast`` parser (its runner is :func:`run`)."""
    parser = subparsers.add_parser(
        "iv", help="add parity forwards and bid/mid/ask implied vols to an option chain",
        description="Read an option chain (Cboe delayed-quote or Yahoo CSV, or a table with columns expiry or "
                    "tau, strike, type, bid, ask), imply forward and discount factor per expiry by put-call parity, "
                    "and write one row per quote with its Black-76 implied vols and, for unusable quotes, the "
                    "reason (CSV).")
    parser.add_argument("chain", help="chain file (.csv, Cboe .csv/.dat, .parquet)")
    parser.add_argument("--out", "-o", help="output CSV (default: standard output)")
    parser.add_argument("--as-of", help="valuation date YYYY-MM-DD (default: from the file)")
    parser.add_argument("--spot", type=float, help="spot, only for the rate/dividend fallback")
    parser.add_argument("--rate", type=float, help="continuously compounded rate, fallback when parity fails")
    parser.add_argument("--dividend", type=float, help="continuously compounded dividend yield, fallback")
    parser.add_argument("--roots", help="comma-separated roots to keep, e.g. SPXW")
    parser.add_argument("--columns", help="column renames old=new,... e.g. K=strike,cp=type")
    parser.add_argument("--day-count", default="ACT/365", help="ACT/365 (default), ACT/360 or ACT/365.25")
    parser.add_argument("--min-strikes", type=int, default=5, help="drop expiries with fewer usable strikes")
    parser.add_argument("--usable-only", action="store_true", help="write only quotes with an implied vol")
    add_exercise_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``ivfast iv``; return 0 once the table is written."""
    from ..chain import analyze_chain

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            analysis = analyze_chain(
                args.chain, as_of=args.as_of, spot=args.spot, rate=args.rate, dividend=args.dividend,
                columns=column_map(args.columns), day_count=args.day_count, min_strikes=args.min_strikes,
                roots=args.roots.split(",") if args.roots else None, **exercise_options(args))
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    for w in caught:
        print(f"ivfast iv: warning: {w.message}", file=sys.stderr)
    quotes = analysis.quotes
    n_ok = int((quotes["reason"] == "").sum())
    if n_ok == 0:
        counts = ", ".join(f"{r}: {n}" for r, n in analysis.drop_summary().items())
        raise CLIError(f"no usable quote among {len(quotes)} ({counts})")
    table = quotes.assign(source=quotes.index.astype(str), type=np.where(quotes["is_call"], "call", "put"))
    if args.usable_only:
        table = table[table["reason"] == ""]
    # American chains: bid/ask/mid are the European-equivalent prices; the quoted ones follow them.
    american = [c for c in ("american_bid", "american_ask", "american_mid") if c in table.columns]
    table = table[_OUTPUT_COLUMNS[:9] + american + _OUTPUT_COLUMNS[9:]]
    try:
        table.to_csv(args.out if args.out else sys.stdout, index=False, float_format="%.10g")
    except OSError as exc:
        raise CLIError(f"--out: cannot write {args.out!r} ({exc})") from None
    print(f"ivfast iv: {n_ok} of {len(quotes)} quotes usable, {len(analysis.forwards)} expiries", file=sys.stderr)
    note = american_note(analysis.info)
    if note:
        print(f"ivfast iv: {note}", file=sys.stderr)
    return 0
