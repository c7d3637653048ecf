"""Sparse-surface completion against its peers, all in one run.

``python bench/bench_completion.py [--surfaces 40] [--draws 5] [--json bench/results/completion.json]``

Data: the real chain held out from training (SPX 2026-01-30, :data:`ivfast.completion.chains.HELD_OUT_CHAIN`)
and synthetic surfaces of a seed the corpus never used. Regimes (after HyperIV and operator deep
smoothing; no test-time fine-tuning): 50 % random drop (interpolation), 50 % drop of the outer
half by |k / sqrt(tau)| (extrapolation), random keep fractions 5 / 10 / 20 %, one whole expiry
removed, and HyperIV's 9 quotes (ATM and about 25-delta call and put at the expiries nearest 7
days, 1 month, 3 months). Accuracy on the hidden quotes: MAE in vol points, absolute percentage
error (APE) quantiles, error over the bid-ask half-width, share inside bid-ask. Arbitrage audit
of every completed surface on a dense 201 x 60 grid. Latency: 500 quotes -> 100 x 100 grid, one
thread, batch 1; batched surfaces/s. Methods: ivfast's completion (network + refinement), its
network alone, the published IvySPT head, SSVI fitted to the visible quotes (ivfast.svi), cubic
(Clough-Tocher) interpolation, polynomial regression, a dense network fitted per surface; a
random forest where scikit-learn is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import time

import numpy as np
import torch

import ivfast
from ivfast.arbitrage import check_surface
from ivfast.completion import complete_surface, complete_surfaces, load_weights
from ivfast.completion.chains import HELD_OUT_CHAIN, chain_sample, default_chains_dir
from ivfast.completion.corpus import synthetic_corpus
from ivfast.completion.published import IvySPTSurface
from ivfast.completion.surface import dense_grid
from ivfast.svi import fit_ssvi

HELD_OUT_SEED = 1000


# --- regimes: boolean "visible" masks -------------------------------------------------------------
def _nine_quotes(s) -> np.ndarray:
    taus = np.unique(s.tau)
    seen = np.zeros(s.k.size, bool)
    for target in (7 / 365, 30 / 365, 91 / 365):
        t = taus[np.argmin(np.abs(taus - target))]
        sel = np.flatnonzero(s.tau == t)
        atm = np.median(s.iv[sel][np.argsort(np.abs(s.k[sel]))[:3]]) * np.sqrt(t)
        for z in (-0.67, 0.0, 0.67):
            seen[sel[np.argmin(np.abs(s.k[sel] - z * atm))]] = True
    return seen


def regimes(s, rng: np.random.Generator) -> dict[str, np.ndarray]:
    z = np.abs(s.k) / np.sqrt(s.tau)
    taus = np.unique(s.tau)
    out = {"interp_50": rng.random(s.k.size) >= 0.5, "extrap_50": z <= np.median(z)}
    for keep in (0.05, 0.10, 0.20):
        out[f"keep_{int(keep * 100)}"] = rng.random(s.k.size) < keep
    out["no_expiry"] = s.tau != taus[len(taus) // 2]
    out["hyperiv_9"] = _nine_quotes(s)
    return out


# --- methods: visible quotes -> vols at the hidden ones -------------------------------------------
def m_ivfast(k, t, v, kq, tq, nets):
    return complete_surface(k, t, v).implied_vol(kq, tq)


def m_ivfast_corrected(k, t, v, kq, tq, nets):
    return complete_surface(k, t, v, correct=True).implied_vol(kq, tq)


def m_network_only(k, t, v, kq, tq, nets):
    return complete_surface(k, t, v, refine_steps=0).implied_vol(kq, tq)


def m_ivyspt(k, t, v, kq, tq, nets):
    return IvySPTSurface(nets["ivyspt"], k, t, v).implied_vol(kq, tq)


def m_ssvi_fit(k, t, v, kq, tq, nets):
    return fit_ssvi(k, t, v**2 * t).implied_vol(kq, tq)


def m_cubic(k, t, v, kq, tq, nets):
    from scipy.interpolate import CloughTocher2DInterpolator, NearestNDInterpolator

    x, xq = np.column_stack([k / np.sqrt(t), np.log(t)]), np.column_stack([kq / np.sqrt(tq), np.log(tq)])
    out = CloughTocher2DInterpolator(x, v)(xq)
    bad = ~np.isfinite(out)
    out[bad] = NearestNDInterpolator(x, v)(xq[bad])  # outside the hull: nearest quote
    return out


def _poly(k, t):
    z, u = k / np.sqrt(t), np.log(t)
    return np.column_stack([z**i * u**j for i in range(4) for j in range(3 - i + 1) if i + j <= 3])


def m_poly(k, t, v, kq, tq, nets):
    coef = np.linalg.lstsq(_poly(k, t), v, rcond=None)[0]
    return _poly(kq, tq) @ coef


def m_dense_nn(k, t, v, kq, tq, nets):
    gen = torch.Generator().manual_seed(0)
    x = torch.tensor(np.column_stack([k / np.sqrt(t), np.log(t)]))
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    y = torch.tensor(v)
    net = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                              torch.nn.Linear(32, 1)).double()
    for p in net.parameters():
        p.data = torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.3
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        loss = (net((x - mean) / std).squeeze(-1) - y).square().mean()
        loss.backward()
        opt.step()
    xq = torch.tensor(np.column_stack([kq / np.sqrt(tq), np.log(tq)]))
    with torch.no_grad():
        return net((xq - mean) / std).squeeze(-1).numpy()


def m_random_forest(k, t, v, kq, tq, nets):
    from sklearn.ensemble import RandomForestRegressor

    rf = RandomForestRegressor(n_estimators=100, random_state=0).fit(np.column_stack([k / np.sqrt(t), t]), v)
    return rf.predict(np.column_stack([kq / np.sqrt(tq), tq]))


SLOW_METHODS = ("ssvi_fit", "dense_nn", "ivfast_corrected")
"""Fitted on the first random draw only (a full-chain SSVI fit takes half a minute)."""
METHODS = {"ivfast": m_ivfast, "ivfast_corrected": m_ivfast_corrected,
           "ivfast_network_only": m_network_only, "ivyspt_published": m_ivyspt,
           "ssvi_fit": m_ssvi_fit, "cubic_spline": m_cubic, "polynomial": m_poly, "dense_nn": m_dense_nn}
try:
    import sklearn  # noqa: F401

    METHODS["random_forest"] = m_random_forest
except ImportError:
    pass


def evaluate(samples, draws: int, nets) -> dict:
    """Per (regime, method): APE and MAE on the hidden quotes, quantiles across surfaces/draws."""
    rows: dict = {}
    for si, s in enumerate(samples):
        for d in range(draws):
            for regime, seen in regimes(s, np.random.default_rng([si, d])).items():
                if d and regime in ("extrap_50", "no_expiry", "hyperiv_9"):
                    continue  # deterministic regimes: one draw
                hidden = ~seen
                if seen.sum() < 3 or not hidden.any():
                    continue
                for name, method in METHODS.items():
                    if d and name in SLOW_METHODS:
                        continue
                    try:
                        pred = method(s.k[seen], s.tau[seen], s.iv[seen], s.k[hidden], s.tau[hidden], nets)
                    except ValueError:
                        pred = np.full(hidden.sum(), np.nan)  # e.g. too few quotes for the SSVI fit
                    err = pred - s.target[hidden]
                    ape = np.abs(err) / s.target[hidden]
                    r = rows.setdefault(regime, {}).setdefault(name, {"mape": [], "median_ape": [], "mae": [],
                                                                       "inside": [], "over_half": [], "failed": 0})
                    if not np.isfinite(pred).all():
                        r["failed"] += 1
                        continue
                    r["mape"].append(float(np.mean(ape)))
                    r["median_ape"].append(float(np.median(ape)))
                    r["mae"].append(100.0 * float(np.mean(np.abs(err))))
                    r["inside"].append(float(np.mean(np.abs(err) <= s.half_spread[hidden])))
                    r["over_half"].append(float(np.median(np.abs(err) / s.half_spread[hidden])))
    out = {}
    for regime, methods in rows.items():
        out[regime] = {}
        for name, r in methods.items():
            q = lambda a: [float(x) for x in np.quantile(a, [0.05, 0.5, 0.95])] if a else None  # noqa: E731
            mean = lambda a: float(np.mean(a)) if a else None  # noqa: E731
            out[regime][name] = {"n": len(r["mape"]), "failed": r["failed"], "mape_q05_q50_q95": q(r["mape"]),
                                 "median_ape_q05_q50_q95": q(r["median_ape"]), "mae_vol_points_mean": mean(r["mae"]),
                                 "inside_bid_ask_mean": mean(r["inside"]),
                                 "err_over_half_spread_mean_of_medians": mean(r["over_half"])}
    return out


def audit(samples, nets, ivyspt_surfaces: int) -> dict:
    """check_surface (default tolerance) on 201 x 60 grids for ivfast; the published head on a few."""
    res = {}
    for name in ("ivfast", "ivyspt_published"):
        bad, cells, worst, n = 0, [], 0.0, 0
        for si, s in enumerate(samples):
            if name == "ivyspt_published" and si >= ivyspt_surfaces:
                break
            for regime, seen in regimes(s, np.random.default_rng([si, 0])).items():
                if seen.sum() < 3:
                    continue
                if name == "ivfast":
                    surface = complete_surface(s.k[seen], s.tau[seen], s.iv[seen])
                else:
                    if regime not in ("interp_50", "hyperiv_9"):
                        continue
                    surface = IvySPTSurface(nets["ivyspt"], s.k[seen], s.tau[seen], s.iv[seen])
                k, t = dense_grid(s.k, s.tau)
                report = check_surface(surface, k=k, tau=t)
                n += 1
                v = report.violations
                bad += not report.ok()
                cells.append(len(v[v["kind"].isin(["calendar", "butterfly"])]) / (k.size * t.size))
                worst = max(worst, float(v["size"].max()) if len(v) else 0.0)
        res[name] = {"surfaces": n, "share_with_violation": bad / max(n, 1),
                     "share_of_cells": float(np.mean(cells)) if cells else None, "worst_size": worst,
                     "grid": "201 k x 60 tau"}
    return res


def latency(sample, repeats: int) -> dict:
    torch.set_num_threads(1)
    idx = np.random.default_rng(0).choice(sample.k.size, 500, replace=False)
    k, t, v = sample.k[idx], sample.tau[idx], sample.iv[idx]
    gk, gt = np.meshgrid(np.linspace(k.min(), k.max(), 100), np.geomspace(t.min(), t.max(), 100))
    out = {}
    for steps in (20, 0):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            complete_surface(k, t, v, refine_steps=steps).implied_vol(gk, gt)
            times.append(time.perf_counter() - t0)
        out[f"refine_{steps}"] = {"p50_ms": 1e3 * float(np.median(times)),
                                  "p99_ms": 1e3 * float(np.quantile(times, 0.99))}
    batch = [(k, t, v)] * 256
    for steps in (20, 0):
        t0 = time.perf_counter()
        complete_surfaces(batch, refine_steps=steps)
        out[f"batched_256_refine_{steps}_surfaces_per_s"] = 256 / (time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--surfaces", type=int, default=40)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--latency-repeats", type=int, default=100)
    parser.add_argument("--parts", default="all", help="comma-separated subset of latency,real,synthetic,audit "
                        "(updates the JSON file in place)")
    parser.add_argument("--json", default=str(pathlib.Path(__file__).parent / "results" / "completion.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    nets, info = load_weights()
    started = time.perf_counter()
    real = chain_sample(default_chains_dir() / f"{HELD_OUT_CHAIN}.csv")
    synthetic = synthetic_corpus(args.surfaces, HELD_OUT_SEED)
    path = pathlib.Path(args.json)
    result = json.loads(path.read_text()) if path.exists() and args.parts != "all" else {}
    parts = {"latency", "real", "synthetic", "audit"} if args.parts == "all" else set(args.parts.split(","))
    result.update({"ivfast_version": ivfast.__version__, "torch": torch.__version__, "platform": platform.platform(),
                   "weights_training": {n: {"seconds": v["seconds"], "steps": v["steps"]}
                                        for n, v in info["networks"].items()},
                   "real_chain": HELD_OUT_CHAIN, "real_quotes": int(real.k.size), "synthetic_surfaces": len(synthetic)})
    result.setdefault("load_average", {})
    for part in sorted(parts):
        result["load_average"][part] = list(os.getloadavg())
    if "latency" in parts:
        result["latency"] = latency(real, args.latency_repeats)
        print("latency", json.dumps(result["latency"], indent=1))
    if "real" in parts:
        result["real"] = evaluate([real], args.draws, nets)
        table = {r: {m: v["median_ape_q05_q50_q95"] for m, v in d.items()} for r, d in result["real"].items()}
        print("real", json.dumps(table, indent=1))
    if "synthetic" in parts:
        result["synthetic"] = evaluate(synthetic, 1, nets)
    if "audit" in parts:
        result["audit_real"] = audit([real], nets, 1)
        result["audit_synthetic"] = audit(synthetic, nets, 3)
        print(json.dumps({k: result[k] for k in ("audit_real", "audit_synthetic")}, indent=1))
    result.setdefault("seconds", {})[args.parts] = time.perf_counter() - started
    path.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.json} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
