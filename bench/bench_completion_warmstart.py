"""Deep smoothing warm-started from a completed surface against today's start, on both SPX snapshots.

``python bench/bench_completion_warmstart.py [--epochs 1500] [--json bench/results/completion_warmstart.json]``

For each SPX chain: the ``ivfast fit`` quotes (trading time, spread weights) are fitted by
:func:`ivfast.fit_surface` with ``ivfast fit``'s settings (:func:`ivfast.workflow.default_fit_config`)
capped at ``--epochs``, once from today's start (SSVI prior fitted alone, random network) and
once with ``init=complete_surface(...)``. Reports the epochs at which the best loss first
reached 0.02, 0.01 and the stopping target 0.005, and the best loss at the cap.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np
import torch

from ivfast.completion import complete_surface
from ivfast.completion.chains import chain_sample, default_chains_dir
from ivfast.surface import fit_surface
from ivfast.workflow import default_fit_config

CHAINS = ("spx_2026-01-30_yahoo", "spx_2020-03-20_cboe")
LEVELS = (0.02, 0.01, 0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--json", default=str(pathlib.Path(__file__).parent / "results" / "completion_warmstart.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = default_fit_config(max_epochs=args.epochs, log_every=10)
    out: dict = {"epochs_cap": args.epochs, "load_average": list(__import__("os").getloadavg()), "chains": {}}
    for name in CHAINS:
        s = chain_sample(default_chains_dir() / f"{name}.csv")
        weights = 1.0 / np.maximum(s.half_spread, 1e-4)
        row = {}
        t0 = time.perf_counter()
        completed = complete_surface(s.k, s.tau, s.iv, weights=weights)
        row["completion_seconds"] = time.perf_counter() - t0
        for start, init in (("cold", None), ("completed", completed)):
            t0 = time.perf_counter()
            fit = fit_surface(s.k, s.tau, s.iv, weights=weights, config=config, init=init, progress=False)
            reached = {str(level): fit.first_reached(level) for level in LEVELS}
            row[start] = {"seconds": time.perf_counter() - t0, "best_loss": fit.info["best_loss"],
                          "epochs": fit.info["epochs"], "stop_reason": fit.info["stop_reason"],
                          "first_reached": {k: (None if v is None else v[0]) for k, v in reached.items()},
                          "arbitrage_ok": fit.info["arbitrage"]["ok"]}
            print(name, start, json.dumps(row[start]))
        out["chains"][name] = row
    pathlib.Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
