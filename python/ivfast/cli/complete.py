"""``ivfast complete CHAIN --out DIR``: complete a surface from a chain's quotes with the pre-trained model."""

from __future__ import annotations

import argparse
import json
import pathlib
import time
import warnings

import numpy as np

from .errors import CLIError, column_map

_FILES = {
    "surface": "surface.pt",
    "quotes": "completed_quotes.csv",
    "arbitrage_text": "arbitrage.txt",
    "arbitrage_plot": "arbitrage.png",
    "fit_plot": "completed_vs_quotes.png",
    "smiles_plot": "smiles.png",
    "surface_plot": "iv_surface.png",
    "summary": "summary.json",
}

_EPILOG = """\
files written into DIR: surface.pt (FittedSurface.load; also a valid --init of ivfast fit),
completed_quotes.csv (quotes with completed vol, inside-bid-ask flag and whether the model saw
them), arbitrage.txt/.png, completed_vs_quotes.png, smiles.png, iv_surface.png, summary.json.
Needs the torch extra (pip install ivfast[torch]) and, for the figures, the plot extra.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``complete`` subcommand to the ``ivfast`` parser (its runner is :func:`run`)."""
    parser = subparsers.add_parser(
        "complete", help="complete an arbitrage-free IV surface from a chain with the pre-trained transformer",
        description="Clean an option chain, complete its surface in one pass of the pre-trained completion model "
                    "(certified free of static arbitrage), check it on a dense grid and write the surface, "
                    "figures and a JSON summary. --keep completes from a random share of the quotes and "
                    "reports the error on the rest.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chain", help="chain file (Cboe or Yahoo CSV, plain .csv or .parquet table)")
    parser.add_argument("--out", "-o", required=True, help="output folder (created if needed)")
    parser.add_argument("--roots", default="auto", help="roots to use; 'auto' (default): the root with most quotes")
    parser.add_argument("--as-of", help="valuation date YYYY-MM-DD (default: from the file)")
    parser.add_argument("--columns", help="column renames old=new,... e.g. K=strike,cp=type")
    parser.add_argument("--keep", type=float, default=1.0,
                        help="share of the quotes the model sees, chosen at random (default 1: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --keep draw")
    parser.add_argument("--weights-file", help="completion weights file (default: the shipped one)")
    parser.add_argument("--correct", action="store_true",
                        help="multiply the completion by a certified spline factor fitted to the quotes "
                             "(seconds instead of milliseconds; far closer to a dense chain)")
    parser.add_argument("--no-figures", action="store_true", help="do not write the figures")
    parser.set_defaults(run=run)


def _complete(args: argparse.Namespace) -> dict:
    from ..arbitrage import check_surface
    from ..chain import choose_root, prepare_quotes, read_chain
    from ..completion import complete_surface
    from ..workflow.result import check_grid, inside_bid_ask
    from ..workflow.summary import arbitrage_text

    if not 0.0 < args.keep <= 1.0:
        raise CLIError(f"--keep: expected a share in (0, 1], got {args.keep}")
    started = time.perf_counter()
    frame = read_chain(args.chain)
    roots, note = choose_root(frame, args.roots)
    quotes = prepare_quotes(frame, roots=roots, as_of=args.as_of, columns=column_map(args.columns))
    quotes, axis = quotes.on_time_axis("trading")
    k, tau, iv, weights = quotes.arrays()
    seen = np.random.default_rng(args.seed).random(k.size) < args.keep if args.keep < 1.0 else np.ones(k.size, bool)
    prepared = time.perf_counter()
    surface = complete_surface(k[seen], tau[seen], iv[seen], weights=weights[seen], model=args.weights_file,
                               correct=args.correct)
    completed = time.perf_counter()
    fitted = surface.implied_vol(k, tau)
    inside = inside_bid_ask(fitted, quotes.iv_bid, quotes.iv_ask)
    report = check_surface(surface, *check_grid(quotes))
    checked = time.perf_counter()

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / f for name, f in _FILES.items()}
    table = quotes.to_frame().assign(fit_iv=fitted, inside=inside, seen=seen)
    surface.save(files["surface"])
    table.to_csv(files["quotes"], index=False, float_format="%.10g")
    files["arbitrage_text"].write_text(arbitrage_text(report), encoding="utf-8")
    if not args.no_figures:
        from ..workflow.plots import plot_fit_vs_quotes, plot_smiles, plot_surface

        report.plot(files["arbitrage_plot"], title=f"Static-arbitrage violations ({len(report.violations)})")
        plot_fit_vs_quotes(table, surface, files["fit_plot"])
        plot_smiles(table, surface, files["smiles_plot"])
        plot_surface(quotes, surface, files["surface_plot"])
    else:
        files = {n: p for n, p in files.items() if not n.endswith("_plot")}
    hidden = ~seen

    def errors(mask: np.ndarray) -> dict:
        if not mask.any():
            return {"n": 0}
        rel = np.abs(fitted[mask] / iv[mask] - 1.0)
        return {"n": int(mask.sum()), "mae_vol_points": 100.0 * float(np.mean(np.abs(fitted[mask] - iv[mask]))),
                "mape_median": float(np.median(rel)), "mape_mean": float(np.mean(rel)),
                "inside_bid_ask": float(inside[mask].mean())}

    summary = {
        "chain": str(args.chain), "roots": roots, "note": note, "time_axis": axis,
        "quotes": {"kept": int(k.size), "seen_by_model": int(seen.sum()), "hidden": int(hidden.sum())},
        "accuracy": {"seen": errors(seen), "hidden": errors(hidden)},
        "ssvi": surface.prior_parameters(),
        "correction": surface.info.get("correction"),
        "arbitrage": report.to_dict(),
        "seconds": {"prepare": prepared - started, "complete": completed - prepared, "check": checked - completed,
                    "total": time.perf_counter() - started},
        "files": {name: str(path) for name, path in files.items()},
    }
    files["summary"].write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return summary


def run(args: argparse.Namespace) -> int:
    """Run ``ivfast complete``; return 0 once the surface and its files are written."""
    try:
        import torch  # noqa: F401  (fail here with a clear message)
    except ImportError as exc:
        raise CLIError(f"needs the torch extra: pip install ivfast[torch] ({exc})") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # chain-cleaning notes (e.g. American exercise) go to the summary's note
        try:
            summary = _complete(args)
        except ValueError as exc:
            raise CLIError(" ".join(str(exc).split())) from None
        except OSError as exc:
            raise CLIError(f"--out: cannot write into {args.out!r} ({exc})") from None
        except ImportError as exc:
            raise CLIError(str(exc)) from None
    acc, arb = summary["accuracy"], summary["arbitrage"]
    lines = [f"quotes: {summary['quotes']['kept']} kept, {summary['quotes']['seen_by_model']} seen by the model; "
             f"{summary['time_axis']}"]
    for part in ("seen", "hidden"):
        a = acc[part]
        if a["n"]:
            lines.append(f"{part}: MAE {a['mae_vol_points']:.3f} vol points, median APE {100 * a['mape_median']:.2f}%, "
                         f"{100 * a['inside_bid_ask']:.1f}% inside bid-ask ({a['n']} quotes)")
    lines.append(f"arbitrage on {arb['grid']}: {'none' if arb['ok'] else arb['counts']}")
    seconds = summary["seconds"]
    lines.append(f"time: complete {1000 * seconds['complete']:.1f} ms, total {seconds['total']:.1f} s; "
                 f"files in {pathlib.Path(summary['files']['summary']).parent}")
    print("\n".join(lines))
    return 0
