"""``ivfast surrogate make-data | train | eval | calibrate``: the neural surrogate pricer from the shell."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .errors import CLIError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``surrogate`` subcommand and its actions to the ``ivfast`` parser (each with its runner)."""
    parser = subparsers.add_parser(
        "surrogate",
        help="neural surrogate pricer: parameters -> implied-vol grid (train/eval/calibrate need torch)",
        description="Build Heston/Bates training grids with the C++ pricer, train a surrogate network, "
                    "evaluate it and calibrate through it.")
    sub = parser.add_subparsers(dest="surrogate_command", required=True, metavar="ACTION")

    make = sub.add_parser("make-data", help="sample parameters, price and invert their IV grids (resumable)")
    make.add_argument("--out", "-o", required=True, help="dataset directory (re-run to resume)")
    make.add_argument("--model", choices=["heston", "bates"], default="heston")
    make.add_argument("-n", type=int, default=10_000, help="parameter sets to price (default 10000)")
    make.add_argument("--grid", choices=["horvath", "seed"], default="horvath",
                      help="11x8 grid of Horvath et al. (default) or the 10x6 grid of the reference "
                           "surrogate notebook (PCA_STRIKES x PCA_TAUS)")
    make.add_argument("--range", action="append", default=[], metavar="NAME=LO:HI",
                      help="override a parameter's sampling range, e.g. v0=0.01:0.3 (repeatable)")
    make.add_argument("--design", choices=["sobol", "lhs"], default="sobol")
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--chunk-size", type=int, default=2048)
    make.add_argument("--rate", type=float, default=0.0)
    make.add_argument("--dividend", type=float, default=0.0)
    make.add_argument("--threads", type=int, help="pricer threads (default: all)")
    make.add_argument("--quiet", action="store_true", help="no progress bar")
    make.set_defaults(run=_make_data)

    tr = sub.add_parser("train", help="train a surrogate on a dataset directory")
    tr.add_argument("data", help="dataset directory from make-data")
    tr.add_argument("--out", "-o", required=True, help="model file to write (.pt)")
    tr.add_argument("--arch", choices=["resmlp", "grid"], default="resmlp")
    tr.add_argument("--epochs", type=int, default=200)
    tr.add_argument("--batch-size", type=int, default=256)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--patience", type=int, default=20)
    tr.add_argument("--blocks", type=int, default=8, help="residual blocks (resmlp)")
    tr.add_argument("--width", type=int, default=128, help="width (resmlp)")
    tr.add_argument("--dropout", type=float, default=0.0)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--threads", type=int, help="torch threads")
    tr.add_argument("--history", help="write the per-epoch history here (JSON)")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(run=_train)

    ev = sub.add_parser("eval", help="accuracy report (JSON + PNG) on the model's test split")
    ev.add_argument("model", help="model file from train")
    ev.add_argument("data", help="the dataset directory the model was trained on")
    ev.add_argument("--out", "-o", required=True, help="report directory")
    ev.add_argument("--arbitrage-surfaces", type=int, default=1000, help="grids checked for static arbitrage")
    ev.add_argument("--history", help="training history JSON to plot")
    ev.add_argument("--no-figures", action="store_true", help="write report.json only")
    ev.set_defaults(run=_eval)

    cal = sub.add_parser("calibrate", help="model parameters from an IV grid through the surrogate")
    cal.add_argument("model", help="model file from train")
    target = cal.add_mutually_exclusive_group(required=True)
    target.add_argument("--iv", help="IV grid (.npy or .csv): rows = maturities, columns = strikes of the model")
    target.add_argument("--params", help="build the target with the C++ pricer from NAME=VALUE,... (a check)")
    cal.add_argument("--weights", help="weights grid (.npy or .csv), same shape")
    cal.add_argument("--json", help="write the result here")
    cal.set_defaults(run=_calibrate)


def _grid_file(path: str, name: str) -> np.ndarray:
    try:
        return np.load(path) if path.endswith(".npy") else np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise CLIError(f"--{name}: cannot read {path!r} ({exc})") from None


def _ranges(items: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for item in items:
        try:
            name, bounds = item.split("=", 1)
            lo, hi = bounds.split(":", 1)
            out[name.strip()] = (float(lo), float(hi))
        except ValueError:
            raise CLIError(f"--range: expected NAME=LO:HI, got {item!r}") from None
    return out


def _make_data(args: argparse.Namespace) -> int:
    from .. import surrogate

    strikes, taus = ((surrogate.HORVATH_STRIKES, surrogate.HORVATH_TAUS) if args.grid == "horvath"
                     else (surrogate.PCA_STRIKES, surrogate.PCA_TAUS))
    try:
        ds = surrogate.make_dataset(args.model, args.n, _ranges(args.range), strikes, taus, args.seed, args.threads,
                                    args.out, design=args.design, chunk_size=args.chunk_size, rate=args.rate,
                                    dividend=args.dividend, progress=not args.quiet)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    print(f"ivfast surrogate: {len(ds)} grids kept, {ds.n_dropped} of {ds.n_sampled} dropped (unrecoverable IV); "
          f"{ds.samples_per_second:.0f} samples/s this run; in {args.out}", file=sys.stderr)
    return 0


def _load_data(path: str):
    from ..surrogate import load_dataset

    try:
        return load_dataset(path)
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _load_model(path: str):
    from ..surrogate import Surrogate

    try:
        return Surrogate.load(path)
    except (OSError, RuntimeError, KeyError) as exc:
        raise CLIError(f"model: cannot load {path!r} ({exc})") from None


def _train(args: argparse.Namespace) -> int:
    from ..surrogate import TrainConfig, train

    ds = _load_data(args.data)
    try:
        cfg = TrainConfig(arch=args.arch, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          patience=args.patience, lr_patience=max(args.patience // 2, 1), n_blocks=args.blocks,
                          width=args.width, dropout=args.dropout, seed=args.seed, threads=args.threads,
                          progress=not args.quiet)
        result = train(ds, cfg)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    result.surrogate.save(args.out)
    if args.history:
        with open(args.history, "w") as fh:
            json.dump(result.history, fh)
    note = " (interrupted: best so far)" if result.interrupted else ""
    print(f"ivfast surrogate: best validation loss {result.best_val_loss:.4g} at epoch {result.best_epoch} "
          f"in {result.seconds:.0f} s{note}; saved {args.out}", file=sys.stderr)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from ..surrogate import evaluate, split_indices

    sur, ds = _load_model(args.model), _load_data(args.data)
    info = sur.info
    same_grid = np.array_equal(ds.strikes, sur.strikes) and np.array_equal(ds.taus, sur.taus)
    if info.get("n_samples") != len(ds) or not same_grid:
        raise CLIError(f"data: {args.data} is not the dataset the model was trained on "
                       f"({len(ds)} grids vs {info.get('n_samples')}, or another grid)")
    _, _, test = split_indices(len(ds), info["seed"], tuple(info["fractions"]))
    history = None
    if args.history:
        with open(args.history) as fh:
            history = json.load(fh)
    report = evaluate(sur, ds.params[test], ds.iv[test], args.out, arbitrage_surfaces=args.arbitrage_surfaces,
                      history=history, figures=not args.no_figures)
    o = report["overall"]
    print(f"ivfast surrogate: {report['n_surfaces']} test grids: RMSE {o['rmse']:.3g}, median rel. error "
          f"{o['median_rel']:.3%}, 99th pct {o['p99_rel']:.3%}; report in {args.out}", file=sys.stderr)
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from ..pricing import implied_vol_surface
    from ..surrogate import calibrate

    sur = _load_model(args.model)
    if args.iv:
        target = _grid_file(args.iv, "iv")
    else:
        try:
            values = dict(item.split("=", 1) for item in args.params.split(","))
            truth = sur.params_class(**{k.strip(): float(v) for k, v in values.items()})
        except (TypeError, ValueError) as exc:
            raise CLIError(f"--params: expected {','.join(n + '=VALUE' for n in sur.names)} ({exc})") from None
        target = implied_vol_surface(truth, sur.strikes, sur.taus, rate=sur.rate, dividend=sur.dividend)
    weights = _grid_file(args.weights, "weights") if args.weights else None
    try:
        result = calibrate(sur, target, weights)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    out = {"params": result.as_dict(), "success": result.success, "surrogate_rmse": result.surrogate_rmse,
           "true_rmse": result.true_rmse, "nfev": result.nfev, "seconds": result.seconds, "message": result.message}
    text = json.dumps(out, indent=1)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text)
    print(text)
    return 0
