"""Deep smoothing started from a completed surface against today's start, on the held-out SPX chain.

``python bench/bench_completion_warmstart.py [--epochs 800] [--json bench/results/completion_warmstart.json]``

For the 50 % random (interpolation) and outer-half (extrapolation) drops of the SPX 2026-01-30
chain (never seen in training), :func:`ivfast.fit_surface` with ``ivfast fit``'s settings
(:func:`ivfast.workflow.default_fit_config`, capped at ``--epochs``) is run on the visible
quotes once from today's start (SSVI prior fitted alone, random network) and once with
``init=complete_surface(visible)``. Reports the epochs at which the best loss first reached
0.02 and 0.01, the best loss at the cap, and the hidden-quote errors of the completed surface and
of both fits (the fits' certificates are the trainer's dense check).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

import numpy as np
import torch

from ivfast.completion import complete_surface
from ivfast.completion.chains import HELD_OUT_CHAIN, chain_sample, default_chains_dir
from ivfast.surface import fit_surface
from ivfast.workflow import default_fit_config

LEVELS = (0.02, 0.01)


def _errors(surface, s, hidden) -> dict:
    pred = surface.implied_vol(s.k[hidden], s.tau[hidden])
    err = pred - s.iv[hidden]
    ape = np.abs(err) / s.iv[hidden]
    return {"median_ape": float(np.median(ape)), "mae_vol_points": 100.0 * float(np.mean(np.abs(err))),
            "inside_bid_ask": float(np.mean(np.abs(err) <= s.half_spread[hidden]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=800)
    parser.add_argument("--json", default=str(pathlib.Path(__file__).parent / "results" / "completion_warmstart.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = default_fit_config(max_epochs=args.epochs, log_every=10)
    s = chain_sample(default_chains_dir() / f"{HELD_OUT_CHAIN}.csv")
    z = np.abs(s.k) / np.sqrt(s.tau)
    masks = {"interp_50": np.random.default_rng([0, 0]).random(s.k.size) >= 0.5, "extrap_50": z <= np.median(z)}
    out: dict = {"chain": HELD_OUT_CHAIN, "epochs_cap": args.epochs, "load_average": list(os.getloadavg()),
                 "regimes": {}}
    for regime, seen in masks.items():
        hidden = ~seen
        weights = 1.0 / np.maximum(s.half_spread[seen], 1e-4)  # inverse bid-ask width, as ivfast fit
        t0 = time.perf_counter()
        completed = complete_surface(s.k[seen], s.tau[seen], s.iv[seen], weights=weights)
        row = {"completion": {"seconds": time.perf_counter() - t0, **_errors(completed, s, hidden)}}
        for start, init in (("cold", None), ("from_completion", completed)):
            t0 = time.perf_counter()
            fit = fit_surface(s.k[seen], s.tau[seen], s.iv[seen], weights=weights, config=config, init=init,
                              iv_bid=np.maximum(s.iv[seen] - s.half_spread[seen], 1e-4),
                              iv_ask=s.iv[seen] + s.half_spread[seen], progress=False)
            reached = {str(level): fit.first_reached(level) for level in LEVELS}
            row[start] = {"seconds": time.perf_counter() - t0, "best_loss": fit.info["best_loss"],
                          "epochs": fit.info["epochs"], "arbitrage_ok": fit.info["arbitrage"]["ok"],
                          "first_reached_epoch": {k: (None if v is None else v[0]) for k, v in reached.items()},
                          **_errors(fit, s, hidden)}
            print(regime, start, json.dumps(row[start]), flush=True)
        print(regime, "completion", json.dumps(row["completion"]), flush=True)
        out["regimes"][regime] = row
    pathlib.Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
