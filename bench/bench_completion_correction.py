"""complete_surface(..., correct=True) against the plain completion on real chains, per regime.

``python bench/bench_completion_correction.py [--chains spx_2026-01-30_yahoo,spx_2020-03-20_cboe]``

Regimes (draw 0 of bench_completion.py's generator): 50 % random drop (interpolation), outer half
by |k / sqrt(tau)| dropped (extrapolation), the middle expiry removed, 5 % kept. Per regime and
method: median APE and MAE on the hidden quotes, share inside bid-ask, dense-check violations on
the full chain's 201 x 60 grid, seconds; for the correction its programmes and kept factor.
The penalties were chosen on SPX 2020-03-20 (a fine-tuning chain); SPX 2026-01-30 is held out.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

import numpy as np
import torch

from ivfast.arbitrage import check_surface
from ivfast.completion import complete_surface
from ivfast.completion.chains import HELD_OUT_CHAIN, chain_sample, default_chains_dir
from ivfast.completion.surface import dense_grid


def regimes(s) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([0, 0])
    z = np.abs(s.k) / np.sqrt(s.tau)
    taus = np.unique(s.tau)
    return {"interp_50": rng.random(s.k.size) >= 0.5, "extrap_50": z <= np.median(z),
            "no_expiry": s.tau != taus[len(taus) // 2], "keep_5": rng.random(s.k.size) < 0.05}


def measure(s, seen: np.ndarray, correct: bool) -> dict:
    hidden = ~seen
    started = time.perf_counter()
    surface = complete_surface(s.k[seen], s.tau[seen], s.iv[seen], correct=correct)
    seconds = time.perf_counter() - started
    err = surface.implied_vol(s.k[hidden], s.tau[hidden]) - s.target[hidden]
    report = check_surface(surface, *dense_grid(s.k, s.tau))
    out = {"median_ape_pct": 100 * float(np.median(np.abs(err) / s.target[hidden])),
           "mae_vol_points": 100 * float(np.mean(np.abs(err))),
           "inside_bid_ask": float(np.mean(np.abs(err) <= s.half_spread[hidden])),
           "violations_full_grid": int(len(report.violations)), "own_check_ok": bool(surface.check().ok()),
           "seconds": seconds}
    if correct:
        out["correction"] = surface.info["correction"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chains", default=f"{HELD_OUT_CHAIN},spx_2020-03-20_cboe")
    parser.add_argument("--json", default=str(pathlib.Path(__file__).parent / "results" / "completion_correction.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = {"load_average": list(os.getloadavg()), "chains": {}}
    for name in args.chains.split(","):
        s = chain_sample(default_chains_dir() / f"{name}.csv")
        rows = result["chains"][name] = {}
        for regime, seen in regimes(s).items():
            rows[regime] = {m: measure(s, seen, m == "corrected") for m in ("plain", "corrected")}
            p, c = rows[regime]["plain"], rows[regime]["corrected"]
            print(f"{name} {regime}: median APE {p['median_ape_pct']:.3f} -> {c['median_ape_pct']:.3f} %, "
                  f"MAE {p['mae_vol_points']:.3f} -> {c['mae_vol_points']:.3f} vp, inside {p['inside_bid_ask']:.3f} -> "
                  f"{c['inside_bid_ask']:.3f}, violations {c['violations_full_grid']}, own check "
                  f"{c['own_check_ok']}, {p['seconds']:.3f} -> {c['seconds']:.2f} s, "
                  f"factor {c['correction']['factor']}, programmes {c['correction']['programmes']}", flush=True)
    pathlib.Path(args.json).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
