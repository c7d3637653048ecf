"""``ivfast fit-many DIR_OR_GLOB --out STORE``: fit many chains on Dask into one results store."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from .errors import CLIError
from .fit import add_trainer_options, trainer_config

_EPILOG = """\
chain files are named <underlying>_<YYYY-MM-DD>... (e.g. spx_2020-03-20_cboe.csv). STORE gets
results/<chain_id>.parquet (one row per chain: status, reason, timings, inside-bid-ask share,
RMSE, arbitrage counts, files; read all with pandas.read_parquet(STORE/results)) and
surfaces/<chain_id>/ (what ivfast fit writes). Rerunning on the same STORE skips the chains done
and retries the failed ones. Needs the torch and scale extras: pip install 'ivfast[torch,scale]'.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``fit-many`` subcommand to the ``ivfast`` parser (its runner is :func:`run`)."""
    parser = subparsers.add_parser(
        "fit-many", help="fit many chains (dates x underlyings) on Dask into one Parquet store",
        description="Fit a deep-smoothing surface to every chain file, in parallel on a local Dask cluster or a "
                    "scheduler, warm-starting each date from the previous one, resumably.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chains", help="folder of chain files, or a glob pattern such as 'data/spx_*.csv'")
    parser.add_argument("--out", "-o", required=True, help="results store folder (created if needed)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    parser.add_argument("--workers", type=int, help="local cluster worker processes (default: one per core)")
    parser.add_argument("--chunk-size", type=int, help="dates per warm-started chunk (default: dates / workers)")
    parser.add_argument("--warm-start", default="previous", choices=("previous", "completion", "none"),
                        help="each date starts from the previous date's fit in its chunk (default), from the "
                             "completion model's surface of its own quotes, or cold")
    parser.add_argument("--time-axis", default="trading", choices=("trading", "calendar"),
                        help="maturity axis of the fits (default: NYSE trading days / 252)")
    parser.add_argument("--roots", default="auto", help="roots to fit per chain (default: the root with most quotes)")
    parser.add_argument("--figures", action="store_true", help="also write each fit's figures (seconds per chain)")
    add_trainer_options(parser)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``ivfast fit-many``; return 0 when every chain is fitted, 1 when some failed (see the store)."""
    try:
        import torch  # noqa: F401  (fail here with a clear message)

        from ..scale import fit_many
    except ImportError as exc:
        raise CLIError(f"needs the torch and scale extras: pip install 'ivfast[torch,scale]' ({exc})") from None
    config = trainer_config(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # per-chain warnings are recorded with each fit, not printed 2,500 times
        try:
            table = fit_many(args.chains, out=args.out, workers=args.workers, client=args.scheduler,
                             warm_start=None if args.warm_start == "none" else args.warm_start,
                             chunk_size=args.chunk_size,
                             progress=not args.quiet, config=config, time_axis=args.time_axis, roots=args.roots,
                             time_limit=args.time_limit, figures=args.figures)
        except ValueError as exc:
            raise CLIError(" ".join(str(exc).split())) from None
        except OSError as exc:
            raise CLIError(f"--out: cannot write into {args.out!r} ({exc})") from None
    failed = table[table["status"] != "ok"]
    print(f"ivfast fit-many: {len(table) - len(failed)} of {len(table)} chains fitted into "
          f"{os.path.join(args.out, 'results')}")
    for row in failed.itertuples():
        print(f"  failed {row.chain_id}: {row.reason}", file=sys.stderr)
    return 1 if len(failed) else 0
