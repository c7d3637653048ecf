"""Deep smoothing: quote RMSE at the stopping point against the target loss, over seeds.

``python bench/sweep_smoothing.py [--targets 0.02 0.015 0.012] [--seeds 0 1 2 3 4 5] [--config JSON]``
fits the seed's Bates reference set once per (target, seed) with ``SmoothingConfig(target_loss=...,
**config)`` on one torch thread and prints a line per fit, then the RMSE range per target.
``--chain spx2026 --epochs 500`` instead fits the SPX 2026-01-30 chain (SPXW, trading time, spread
weights, as ``ivfast fit`` prepares it) for a fixed number of epochs and prints the best loss,
e.g. to compare ``{"identity_start": true}`` with ``false``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

import numpy as np
import torch

import ivfast
from ivfast.chain import choose_root, prepare_quotes, read_chain
from ivfast.workflow import default_fit_config
from ivfast.workflow.run import _on_time_axis

CHAINS = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "chains"


def spx2026() -> dict[str, np.ndarray]:
    frame = read_chain(CHAINS / "spx_2026-01-30_yahoo.csv")
    roots, _ = choose_root(frame, "auto")
    quotes, _ = _on_time_axis(prepare_quotes(frame, roots=roots, weights="spread"), "trading")
    return {name: np.asarray(values, dtype=np.float64) for name, values in quotes.fit_inputs().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=float, nargs="+", default=[0.02, 0.015, 0.014, 0.012])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(6)))
    parser.add_argument("--config", default="{}", help="JSON of further SmoothingConfig fields")
    parser.add_argument("--chain", choices=("spx2026",), help="fit this real chain instead (with --epochs)")
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--json", type=pathlib.Path, help="also write the sweep here (bench/results/ format)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    extra = json.loads(args.config)
    print(f"torch {torch.__version__}, 1 thread; config {extra}; load {os.getloadavg()[0]:.2f}", flush=True)
    if args.chain:
        data = spx2026()
        for seed in args.seeds:
            config = default_fit_config(max_epochs=args.epochs, **extra)
            fit = ivfast.fit_surface(**data, config=config, seed=seed)
            print(f"{args.chain} seed {seed}: {fit.info['epochs']} epochs, best loss {fit.info['best_loss']:.5f}, "
                  f"{fit.info['seconds']:.1f} s", flush=True)
        return
    k, tau, iv = ivfast.datasets.ackerer_quotes(ivfast.datasets.ACKERER_REFERENCE_BATES)
    rows = []
    for target in args.targets:
        rmse, epochs = [], []
        for seed in args.seeds:
            started = time.perf_counter()
            config = ivfast.SmoothingConfig(progress=False, target_loss=target, **extra)
            fit = ivfast.fit_surface(k, tau, iv, config=config, seed=seed)
            rmse.append(100 * float(np.sqrt(np.mean((fit.implied_vol(k, tau) - iv) ** 2))))
            epochs.append(int(fit.info["epochs"]))
            print(f"target {target} seed {seed}: {fit.info['stop_reason']} at epoch {fit.info['epochs']}, "
                  f"best loss {fit.info['best_loss']:.4f}, RMSE {rmse[-1]:.3f} vol pts, "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
        print(f"target {target}: RMSE {min(rmse):.3f}-{max(rmse):.3f} vol pts over seeds {args.seeds}", flush=True)
        rows.append({"target_loss": target, "rmse_vol_points": [round(r, 3) for r in rmse],
                     "epochs": [min(epochs), max(epochs)]})
    if args.json:
        record = {"benchmark": "bench/sweep_smoothing.py",
                  "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "data": "Ackerer et al. reference Bates set, ivfast.datasets.ackerer_quotes()",
                  "quantity": "quote RMSE of the best state at the stop, vol points", "seeds": args.seeds,
                  "config": extra, "rows": rows}
        args.json.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
