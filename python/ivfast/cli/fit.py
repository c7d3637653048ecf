"""``ivfast fit CHAIN --out DIR``: clean a chain, fit a deep-smoothing surface, check and plot it."""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import warnings
from typing import TYPE_CHECKING, Any

from .errors import CLIError, column_map
from .exercise import add_exercise_options, exercise_options

if TYPE_CHECKING:
    from ..surface import SmoothingConfig

_EPILOG = """\
files written into DIR: surface.pt (FittedSurface.load), surface_torchscript.pt (when the export
module is available), fit_quotes.csv (kept quotes with fitted vol and inside-bid-ask flag),
arbitrage.txt/.png, fit_vs_quotes.png, smiles.png, iv_surface.png, loss.png, dropped.png,
summary.json. Needs the torch extra: pip install ivfast[torch].
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``fit`` subcommand to the ``ivfast`` parser (its runner is :func:`run`)."""
    parser = subparsers.add_parser(
        "fit", help="fit an arbitrage-free deep-smoothing IV surface to an option chain",
        description="Clean an option chain (parity forwards, bid/mid/ask implied vols), fit a deep-smoothing "
                    "surface to the mid vols weighted by the bid-ask width, check it for static arbitrage on a "
                    "dense grid and write the surface, figures and a JSON summary.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chain", help="chain file (Cboe or Yahoo CSV, plain .csv or .parquet table)")
    parser.add_argument("--out", "-o", required=True, help="output folder (created if needed)")
    parser.add_argument("--roots", default="auto",
                        help="roots to fit, e.g. SPXW; 'auto' (default): the root with most quotes; 'all'")
    parser.add_argument("--as-of", help="valuation date YYYY-MM-DD (default: from the file)")
    parser.add_argument("--columns", help="column renames old=new,... e.g. K=strike,cp=type")
    parser.add_argument("--day-count", default="ACT/365", help="ACT/365 (default), ACT/360 or ACT/365.25")
    parser.add_argument("--time-axis", default="trading", choices=("trading", "calendar"),
                        help="maturity axis of the fit: NYSE trading days / 252 (default) or calendar ACT/365")
    parser.add_argument("--min-strikes", type=int, default=5, help="drop expiries with fewer usable strikes")
    parser.add_argument("--rate", type=float,
                        help="continuously compounded rate: the fallback where parity fails, and the rate of the "
                             "de-Americanisation (American quotes pin it poorly; default: their pooled parity rate)")
    parser.add_argument("--weights", default="spread", choices=("spread", "vega", "equal"),
                        help="quote weights: inverse bid-ask vol width (default), vega, equal")
    add_trainer_options(parser)
    parser.add_argument("--init", default="completion",
                        help="where training starts: 'completion' (default: the certified, spline-corrected "
                             "completion of the chain's quotes, kept as the result when it meets the targets), "
                             "'none' (cold start), or a saved surface.pt (e.g. the previous day's fit)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--no-export", action="store_true", help="do not write the TorchScript export")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_exercise_options(parser)
    parser.set_defaults(run=run)


def add_trainer_options(parser: argparse.ArgumentParser) -> None:
    """Add the trainer options that ``ivfast fit`` and ``ivfast fit-many`` share.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser; read the options back with :func:`trainer_config`.
    """
    parser.add_argument("--config", type=pathlib.Path,
                        help="JSON file of SmoothingConfig fields (any subset); the options below override it")
    parser.add_argument("--epochs", type=int, help="maximum training epochs (default 12000)")
    parser.add_argument("--target-loss", type=float,
                        help="stop when the loss reaches this (default 1e-6: the stop is at 95 %% inside bid-ask)")
    parser.add_argument("--time-limit", type=float,
                        help="stop training after this many seconds, keep the best (default 45)")
    parser.add_argument("--hidden", help="hidden layer widths, e.g. 40,40,40,40 (default)")


def trainer_config(args: argparse.Namespace) -> SmoothingConfig:
    """The trainer settings of :func:`add_trainer_options`'s options over ``ivfast fit``'s defaults.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments with ``config``, ``epochs``, ``target_loss`` and ``hidden``.

    Returns
    -------
    SmoothingConfig

    Raises
    ------
    CLIError
        An unreadable config file, unknown fields or bad values.
    """
    from ..workflow import default_fit_config

    changes = _config_file(args.config) if args.config else {}
    if args.epochs is not None:
        changes["max_epochs"] = args.epochs
    if args.target_loss is not None:
        changes["target_loss"] = args.target_loss
    if args.hidden:
        try:
            changes["hidden_layers"] = tuple(int(h) for h in args.hidden.split(","))
        except ValueError:
            raise CLIError(f"--hidden: expected comma-separated integers, got {args.hidden!r}") from None
    try:
        return default_fit_config(**changes)
    except (ValueError, TypeError) as exc:  # TypeError: unknown field names
        raise CLIError(f"trainer settings: {exc}") from None


def _config_file(path: pathlib.Path) -> dict[str, Any]:
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CLIError(f"--config: cannot read {str(path)!r} ({exc})") from None
    if not isinstance(fields, dict):
        raise CLIError(f"--config: expected a JSON object of SmoothingConfig fields in {str(path)!r}")
    return fields


def run(args: argparse.Namespace) -> int:
    """Run ``ivfast fit``; return 0 once the surface and its files are written."""
    try:
        from ..workflow import fit_chain
        import torch  # noqa: F401  (fail here with a clear message, not inside the fit)
    except ImportError as exc:
        raise CLIError(f"needs the torch extra: pip install ivfast[torch] ({exc})") from None
    config = trainer_config(args)
    if args.rate is not None and not math.isfinite(args.rate):
        raise CLIError(f"--rate: expected a finite number, got {args.rate}")
    options = {"columns": column_map(args.columns), "day_count": args.day_count, "min_strikes": args.min_strikes,
               "rate": args.rate, **exercise_options(args)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fit_chain(args.chain, args.out, roots=args.roots, as_of=args.as_of, config=config,
                               time_limit=args.time_limit, init=None if args.init == "none" else args.init,
                               seed=args.seed, weights=args.weights,
                               time_axis=args.time_axis,
                               export=not args.no_export, progress=not args.quiet, chain_options=options)
        except ValueError as exc:
            raise CLIError(" ".join(str(exc).split())) from None  # one line, however the message wraps
        except OSError as exc:
            raise CLIError(f"--out: cannot write into {args.out!r} ({exc})") from None
        except ImportError as exc:  # the figures' matplotlib (the plot extra); the message says what to install
            raise CLIError(str(exc)) from None
    for w in _distinct(caught):
        print(f"ivfast fit: warning: {w}", file=sys.stderr)
    print(result.summary_text())
    return 0


def _distinct(caught: list[warnings.WarningMessage]) -> list[str]:
    """Warning messages without repeats (the trainer may repeat one per epoch)."""
    return list(dict.fromkeys(str(w.message).splitlines()[0] for w in caught))
