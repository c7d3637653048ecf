"""Neural surrogate pricer (ivfast.surrogate) against the C++ Fourier pricer + IV inversion.

Two parts:

- ``pytest bench/bench_surrogate.py``: pytest-benchmark medians, single thread, for one batch of
  1,024 Heston parameter sets on Horvath et al.'s 11 x 8 grid: residual surrogates of the seed's
  size (8 blocks x 128) and of the benchmark runs (4 x 64, 2 x 48) - evaluation cost does not
  depend on the trained weights -, the Horvath 3 x 30 grid network, and ``call_prices_batch`` + ``implied_vol``
  (the way the training data are made).
  Ratios per surface are printed at the end.
- ``python bench/bench_surrogate.py [--n N] [--epochs E] ...``: the whole pipeline - dataset
  (throughput), training, test-set accuracy (median / 99th percentile relative IV error, buckets,
  static-arbitrage share), evaluation speed ratio, and calibration of ``--calibrations`` test
  surfaces (median time, mean relative parameter errors, true re-priced RMSE). The dataset
  directory is resumable; everything is single-threaded unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pytest

from ivfast import surrogate
from ivfast.surrogate.data import price_to_iv

BATCH = 1024
TABLE = "surrogate: 1,024 Heston surfaces, 11 x 8 grid, 1 thread"
TARGETS = {"median_rel": 1e-3, "p99_rel": 1e-2, "speedup": 1000.0, "calibration_seconds": 0.05}


def _design_params(n: int, seed: int = 1) -> np.ndarray:
    from scipy.stats import qmc

    ranges = surrogate.DEFAULT_RANGES["heston"]
    lo, hi = (np.array([r[j] for r in ranges.values()]) for j in (0, 1))
    return lo + qmc.Sobol(lo.size, scramble=True, seed=seed).random_base2(int(np.log2(n))) * (hi - lo)


def _untrained(arch: str, n_blocks: int = 8, width: int = 128):
    """A surrogate of the given size with untrained weights (for timing only)."""
    import torch

    from ivfast.surrogate.model import Surrogate, build_network
    from ivfast.surrogate.training import TrainConfig

    torch.manual_seed(0)
    cfg = TrainConfig(arch=arch, n_blocks=n_blocks, width=width)
    cells, n_out = 88, 20 if arch == "resmlp" else 88
    net = build_network(cfg.arch_dict(), np.zeros(5), np.ones(5), np.zeros(cells), np.eye(n_out, cells), (8, 11))
    return Surrogate(net=net.eval(), model="heston", names=list(surrogate.DEFAULT_RANGES["heston"]),
                     ranges=dict(surrogate.DEFAULT_RANGES["heston"]), strikes=surrogate.HORVATH_STRIKES,
                     taus=surrogate.HORVATH_TAUS, arch=cfg.arch_dict())


def _one_thread():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def params():
    return _design_params(BATCH)


def test_pricer_and_inversion(benchmark, params, ratio_table):
    grid = (surrogate.HORVATH_STRIKES, surrogate.HORVATH_TAUS)
    benchmark.pedantic(lambda: price_to_iv(params, "heston", *grid, threads=1), rounds=3, iterations=1)
    ratio_table(TABLE).add("C++ Carr-Madan + implied_vol", benchmark, BATCH)


@pytest.mark.parametrize("arch, n_blocks, width",
                         [("resmlp", 8, 128), ("resmlp", 4, 64), ("resmlp", 2, 48), ("grid", 0, 0)])
def test_surrogate_batch(benchmark, params, ratio_table, arch, n_blocks, width):
    _one_thread()
    sur = _untrained(arch, n_blocks, width)
    benchmark.pedantic(lambda: sur.predict(params), rounds=20, iterations=1, warmup_rounds=2)
    label = f"residual MLP {n_blocks}x{width} + PCA head" if arch == "resmlp" else "Horvath grid MLP 3x30 ELU"
    ratio_table(TABLE).add(label, benchmark, BATCH)


# ------------------------------------------------------------------------- full pipeline


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _speed(sur, params: np.ndarray) -> dict[str, float]:
    batch = params[:BATCH]
    t_net = _median_time(lambda: sur.predict(batch), 20) / len(batch)
    sub = batch[:256]  # the pricer is ~1000x slower: a quarter batch keeps the run short
    t_cpp = _median_time(lambda: price_to_iv(sub, "heston", sur.strikes, sur.taus, threads=1), 3) / len(sub)
    return {"surrogate_us_per_surface": t_net * 1e6, "pricer_us_per_surface": t_cpp * 1e6, "speedup": t_cpp / t_net}


def _calibrations(sur, params: np.ndarray, iv: np.ndarray) -> dict[str, object]:
    from ivfast.surrogate import calibrate

    calibrate(sur, iv[0], reprice=False)  # warm-up (first Jacobian builds torch.func machinery)
    found, seconds, true_rmse, sur_rmse = [], [], [], []
    for target in iv:
        r = calibrate(sur, target)
        found.append(r.params)
        seconds.append(r.seconds)
        true_rmse.append(r.true_rmse)
        sur_rmse.append(r.surrogate_rmse)
    rel = np.abs(np.array(found) / params - 1.0)
    return {"n": len(iv), "median_seconds": float(np.median(seconds)), "p90_seconds": float(np.quantile(seconds, 0.9)),
            "mean_rel_param_error": dict(zip(sur.names, rel.mean(axis=0).round(5).tolist())),
            "median_rel_param_error": dict(zip(sur.names, np.median(rel, axis=0).round(5).tolist())),
            "median_true_rmse": float(np.nanmedian(true_rmse)), "median_surrogate_rmse": float(np.median(sur_rmse))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="parameter sets to price (default 100k)")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--patience", type=int, default=20)
    # 2 x 48 rather than the seed's 8 x 128: the seed's size evaluates ~10x slower (~8 us per
    # surface on 1 thread), far from the 1000x target against the ~1 ms pricer; 2 x 48 met the
    # accuracy targets on 32k samples (bench/README.md).
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--width", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--max-train-seconds", type=float, help="stop training each network after this wall time")
    ap.add_argument("--baseline", action="store_true", help="also train Horvath's grid MLP")
    ap.add_argument("--calibrations", type=int, default=1000)
    ap.add_argument("--data", default="bench_surrogate_data", help="dataset directory (resumable)")
    ap.add_argument("--out", default="bench_surrogate_out", help="report directory")
    ap.add_argument("--threads", type=int, default=1, help="pricer and torch threads")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    ds = surrogate.make_dataset("heston", args.n, threads=args.threads, path=args.data)
    results: dict[str, object] = {"n_sampled": ds.n_sampled, "n_kept": len(ds), "n_dropped": ds.n_dropped,
                                  "samples_per_second": ds.samples_per_second}
    archs = ["resmlp"] + (["grid"] if args.baseline else [])
    for arch in archs:
        fit = surrogate.train(ds, arch=arch, epochs=args.epochs, patience=args.patience,
                              lr_patience=max(args.patience // 2, 1), n_blocks=args.blocks, width=args.width,
                              batch_size=args.batch_size, max_seconds=args.max_train_seconds)
        sur, test = fit.surrogate, fit.test_index
        out = Path(args.out) / arch
        report = surrogate.evaluate(sur, ds.params[test], ds.iv[test], out, history=fit.history)
        sur.save(out / "model.pt")
        results[arch] = {"epochs": len(fit.history), "best_epoch": fit.best_epoch, "train_seconds": fit.seconds,
                         "pca_components": sur.info["pca_components"], "overall": report["overall"],
                         "buckets": {k: {m: v[m] for m in ("rmse", "median_rel", "p99_rel")}
                                     for k, v in report["buckets"].items()},
                         "arbitrage": report["arbitrage"], "speed": _speed(sur, ds.params[test])}
        if arch == "resmlp" and args.calibrations:
            k = test[:args.calibrations]
            results[arch]["calibration"] = _calibrations(sur, ds.params[k], ds.iv[k])
    text = json.dumps(results, indent=1)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(text)
    print(text)
    r = results["resmlp"]
    checks = {"median_rel": r["overall"]["median_rel"], "p99_rel": r["overall"]["p99_rel"],
              "speedup": r["speed"]["speedup"]}
    if "calibration" in r:
        checks["calibration_seconds"] = r["calibration"]["median_seconds"]
    for name, value in checks.items():
        ok = value >= TARGETS[name] if name == "speedup" else value <= TARGETS[name]
        print(f"{name:>22}: {value:.4g}  target {'>=' if name == 'speedup' else '<='} {TARGETS[name]:g}  "
              f"{'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
