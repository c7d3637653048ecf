"""``ivfast check``: static-arbitrage check of a quotes CSV or a saved surface (see ivfast.arbitrage)."""

from __future__ import annotations

import argparse
import pathlib
import pickle
from typing import TYPE_CHECKING

from .errors import CLIError

if TYPE_CHECKING:
    from ..arbitrage import ArbitrageReport

_EPILOG = """\
quotes CSV (long format, one row per option; header names case-insensitive):
  tau, strike, forward, and call_price (discounted) or iv (Black-76 vol); optional discount
  (default 1). Empty prices are skipped and counted.
surface file: a deep-smoothing fit written by FittedSurface.save (needs the torch extra),
  checked on --k-range x --tau-range. SVI/SSVI surface files: not supported yet.
exit status: 0 no arbitrage beyond --tol, 1 arbitrage found, 2 bad input.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``check`` subcommand to the ``ivfast`` parser (its runner is :func:`run`)."""
    parser = subparsers.add_parser(
        "check", help="check quotes or a fitted surface for static arbitrage",
        description="Find, locate and size static arbitrage (calendar, butterfly, bounds, wings).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=pathlib.Path, help="quotes .csv, or a saved deep-smoothing surface")
    parser.add_argument("--tol", type=float, default=0.0, help="ignore violations of this size or less (default 0)")
    parser.add_argument("--plot", type=pathlib.Path, help="save a (k, tau) map of the violations here (.png, .pdf)")
    parser.add_argument("--top", type=int, default=10, help="list the N largest violations (default 10)")
    parser.add_argument("--k-range", type=float, nargs=2, default=(-1.5, 1.5), metavar=("KMIN", "KMAX"),
                        help="log-moneyness range for surface files (201 points)")
    parser.add_argument("--tau-range", type=float, nargs=2, default=(1.0 / 52.0, 3.0), metavar=("TMIN", "TMAX"),
                        help="maturity range in years for surface files (100 log-spaced points)")
    parser.set_defaults(run=run)


def _report(args: argparse.Namespace) -> ArbitrageReport:
    import numpy as np
    import pandas as pd

    from .. import arbitrage

    if args.path.suffix.lower() == ".csv":
        try:
            quotes = pd.read_csv(args.path)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise OSError(f"cannot read {args.path}: {exc}") from None
        return arbitrage.check_quotes(quotes, tol=args.tol)
    try:
        from ..surface.fitted import FittedSurface
    except ImportError as exc:
        raise OSError(f"{args.path} is not a .csv; surface files need the torch extra ({exc})") from None
    if not args.path.is_file():
        raise OSError(f"no such file: {args.path}")
    try:
        surface = FittedSurface.load(args.path)
    except (RuntimeError, pickle.UnpicklingError) as exc:  # torch.load on a file it did not write
        raise ValueError(f"{args.path}: not a quotes .csv nor an ivfast surface file ({exc})") from None
    (k0, k1), (t0, t1) = args.k_range, args.tau_range
    if not (k0 < k1 and 0 < t0 < t1):
        raise ValueError("--k-range/--tau-range: expected KMIN < KMAX and 0 < TMIN < TMAX")
    return arbitrage.check_surface(surface, np.linspace(k0, k1, 201), np.geomspace(t0, t1, 100), tol=args.tol)


def run(args: argparse.Namespace) -> int:
    """Run ``ivfast check``; return 0 (no arbitrage beyond ``--tol``) or 1 (arbitrage found)."""
    if args.top < 0:
        raise CLIError("--top: expected a count >= 0")
    try:
        report = _report(args)
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    print(report)
    if args.top and not report.ok():
        worst = report.violations.sort_values("size", ascending=False).head(args.top)
        print(f"\nlargest {len(worst)} of {len(report.violations)} violations:")
        print(worst.to_string(index=False, float_format=lambda x: f"{x:.6g}"))
    if args.plot is not None:
        report.plot(args.plot)
        print(f"violation map written to {args.plot}")
    return 0 if report.ok() else 1
