"""SVI slice and SSVI surface fits against the seed notebook's approach (scipy SLSQP from a fixed start).

Two parts:

- ``pytest bench/bench_svi.py``: pytest-benchmark medians for one slice fit and one SSVI
  surface fit, ours and the SLSQP baseline in the same run (ratios printed at the end).
- ``python bench/bench_svi.py [--quick]``: success rates and median times over random noisy
  slices (1,000; 200 with --quick) and SSVI surfaces (100; 20 with --quick), then per-maturity
  RMSE of SVI and SSVI fits on the seed's Bates reference surface (needs ``ivfast.call_prices``).

A fit *succeeds* when it is finite, raises nothing and reaches a weighted SSE no larger than that
of the true parameters (which are feasible), times (1 + 1e-6): i.e. it found the global basin.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy import optimize

import ivfast
from ivfast import svi
from ivfast.svi import ssvi

NOISE = 1e-4  # absolute noise on total variance


# ---------------------------------------------------------------- random problems


def random_slice(rng: np.random.Generator) -> tuple[svi.RawSVI, np.ndarray, np.ndarray]:
    """A valid raw SVI slice (Lee-bounded wings) and noisy quotes on 8-30 strikes."""
    rho = rng.uniform(-0.9, 0.9)
    b = min(rng.uniform(0.02, 1.0), 1.9 / (1 + abs(rho)))
    sigma, m = np.exp(rng.uniform(np.log(0.02), np.log(0.8))), rng.uniform(-0.4, 0.4)
    a = rng.uniform(0.002, 0.1) - b * sigma * np.sqrt(1 - rho**2) * rng.uniform(0.0, 1.0)
    true = svi.RawSVI(a=a, b=b, rho=rho, m=m, sigma=sigma)
    half = rng.uniform(0.3, 1.5)
    k = np.sort(rng.uniform(-half, half, rng.integers(8, 31)))
    w = true.total_variance(k) + rng.normal(0.0, NOISE, k.size)
    keep = w > 0
    return true, k[keep], w[keep]


def random_ssvi(rng: np.random.Generator) -> tuple[ssvi.SSVI, np.ndarray, np.ndarray, np.ndarray]:
    """A power-law SSVI inside GJ's set and noisy quotes on 6-12 expiries x 9-21 strikes."""
    rho = rng.uniform(-0.9, 0.3)
    gamma = rng.uniform(0.1, 0.5)
    eta = ssvi.power_law_eta_max(rho, gamma) * rng.uniform(0.2, 0.95)
    taus = np.sort(rng.uniform(0.02, 3.0, rng.integers(6, 13)))
    thetas = np.cumsum(rng.uniform(0.01, 0.09, taus.size) * np.diff(np.r_[0.0, taus]))  # forward variances
    true = ssvi.SSVI(rho=rho, phi_kind="power_law", phi_params=(eta, gamma), theta=ssvi.MonotoneTheta(taus, thetas))
    k = np.linspace(-1.0, 1.0, rng.integers(9, 22))
    kk, tt = (x.ravel() for x in np.meshgrid(k, taus))
    w = true.total_variance(kk, tt) + rng.normal(0.0, NOISE, kk.size)
    keep = w > 0
    return true, kk[keep], tt[keep], w[keep]


# ---------------------------------------------------------------- the notebook's approach


def slsqp_slice(k: np.ndarray, w: np.ndarray) -> svi.RawSVI:
    """Seed notebook: SLSQP on (a, b, m, rho, sigma) from the fixed start (1, 1, 1, 0.99, 1)."""
    def sse(x):
        a, b, m, rho, sig = x
        return np.sum((a + b * (rho * (k - m) + np.sqrt((k - m) ** 2 + sig**2)) - w) ** 2)

    cons = {"type": "ineq", "fun": lambda x: x[0] + x[1] * x[4] * np.sqrt(max(1 - x[3] ** 2, 0.0))}
    bounds = [(None, None), (1e-4, None), (None, None), (-0.9999, 0.9999), (1e-4, None)]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        x = optimize.minimize(sse, [1, 1, 1, 0.99, 1], method="SLSQP", bounds=bounds, constraints=cons,
                              options={"maxiter": 1000}).x
    a, b, m, rho, sig = x
    return svi.RawSVI(a=a, b=b, rho=rho, m=m, sigma=sig)


def slsqp_ssvi(k: np.ndarray, tau: np.ndarray, w: np.ndarray) -> ssvi.SSVI:
    """SLSQP on (rho, eta, gamma, theta_j) from a fixed start, GJ Corollary 4.1 and theta
    increasing as constraints: the notebook's approach applied to SSVI."""
    taus, idx = np.unique(tau, return_inverse=True)

    def sse(x):
        rho, eta, gamma, th = x[0], x[1], x[2], x[3:][idx]
        return np.sum((ssvi.ssvi_total_variance(k, th, ssvi.power_law_phi(th, eta, gamma)[0], rho) - w) ** 2)

    cons = [
        {"type": "ineq", "fun": lambda x: 2.0 - x[1] * (1 + abs(x[0]))},
        {"type": "ineq", "fun": lambda x: np.diff(x[3:])},
    ]
    bounds = [(-0.999, 0.999), (1e-6, None), (1e-6, 0.5)] + [(1e-8, None)] * taus.size
    x0 = np.r_[0.0, 1.0, 0.25, 0.04 * taus]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        x = optimize.minimize(sse, x0, method="SLSQP", bounds=bounds, constraints=cons, options={"maxiter": 1000}).x
    thetas = np.maximum.accumulate(np.maximum(x[3:], 1e-8))
    return ssvi.SSVI(rho=float(np.clip(x[0], -0.999, 0.999)), phi_kind="power_law",
                     phi_params=(max(x[1], 1e-6), float(np.clip(x[2], 1e-6, 0.5))),
                     theta=ssvi.MonotoneTheta(taus, thetas))


# ---------------------------------------------------------------- pytest-benchmark timings


def _slice_problem():
    return random_slice(np.random.default_rng(42))


def _surface_problem():
    return random_ssvi(np.random.default_rng(43))


def test_slice_fit_ivfast(benchmark, ratio_table):
    _, k, w = _slice_problem()
    benchmark(svi.fit_slice, k, w)
    ratio_table("SVI slice fit (per slice)").add("ivfast.svi.fit_slice (quasi-explicit)", benchmark, 1)


def test_slice_fit_slsqp(benchmark, ratio_table):
    _, k, w = _slice_problem()
    benchmark(slsqp_slice, k, w)
    ratio_table("SVI slice fit (per slice)").add("scipy SLSQP, fixed start (notebook)", benchmark, 1)


def test_slice_fit_no_butterfly(benchmark, ratio_table):
    _, k, w = _slice_problem()
    benchmark(svi.fit_slice, k, w, no_butterfly=True)
    ratio_table("SVI slice fit (per slice)").add("ivfast.svi.fit_slice(no_butterfly=True)", benchmark, 1)


def test_ssvi_fit_ivfast(benchmark, ratio_table):
    _, k, tau, w = _surface_problem()
    benchmark(svi.fit_ssvi, k, tau, w)
    ratio_table("SSVI surface fit (per surface)").add("ivfast.svi.fit_ssvi (power law)", benchmark, 1)


def test_ssvi_fit_slsqp(benchmark, ratio_table):
    _, k, tau, w = _surface_problem()
    benchmark(slsqp_ssvi, k, tau, w)
    ratio_table("SSVI surface fit (per surface)").add("scipy SLSQP, fixed start", benchmark, 1)


# ---------------------------------------------------------------- success-rate sweep


def _succeeded(model_w: np.ndarray, true_w: np.ndarray, w: np.ndarray) -> bool:
    if not np.isfinite(model_w).all():
        return False
    return np.sum((model_w - w) ** 2) <= np.sum((true_w - w) ** 2) * (1 + 1e-6)


def sweep(n: int, make, fitters: dict, evaluate) -> dict:
    """Fit ``n`` random problems with every fitter; success rate and median seconds each."""
    from tqdm import tqdm

    rng = np.random.default_rng(2026)
    stats = {name: {"ok": 0, "times": []} for name in fitters}
    done = 0
    try:
        for _ in tqdm(range(n), desc=make.__name__):
            problem = make(rng)
            for name, fit in fitters.items():
                t0 = time.perf_counter()
                try:
                    model = fit(*problem[1:])
                    ok = evaluate(model, problem)
                except (ValueError, RuntimeError, np.linalg.LinAlgError):
                    ok = False
                stats[name]["times"].append(time.perf_counter() - t0)
                stats[name]["ok"] += bool(ok)
            done += 1
    except KeyboardInterrupt:
        print(f"interrupted after {done} problems; reporting those")
    for name, s in stats.items():
        t = np.array(s["times"][:done])
        print(f"  {name:<40} success {s['ok']}/{done} ({100 * s['ok'] / max(done, 1):.1f}%)  "
              f"median {1e3 * np.median(t):.1f} ms  p90 {1e3 * np.quantile(t, 0.9):.1f} ms")
    return stats


def _slice_ok(model, problem):
    true, k, w = problem
    return _succeeded(model.total_variance(k), true.total_variance(k), w)


def _surface_ok(model, problem):
    true, k, tau, w = problem
    return _succeeded(model.total_variance(k, tau), true.total_variance(k, tau), w)


BATES_STRIKES, BATES_TAUS = ivfast.datasets.ackerer_grid()


def bates_report() -> None:
    """Per-maturity RMSE (in vol) of SVI slices and SSVI surfaces on the seed's Bates surface."""
    params = ivfast.BatesParams(**ivfast.datasets.ACKERER_REFERENCE_BATES)
    iv = ivfast.implied_vol_surface(params, BATES_STRIKES, BATES_TAUS)
    k = np.log(BATES_STRIKES)
    ok = np.isfinite(iv)
    kk, tt = np.meshgrid(k, BATES_TAUS)
    w = iv[ok] ** 2 * tt[ok]
    columns = {}
    t0 = time.perf_counter()
    slices = [svi.fit_slice_vols(k[ok[i]], iv[i, ok[i]], t) for i, t in enumerate(BATES_TAUS)]
    t_svi = time.perf_counter() - t0
    columns["SVI slice"] = np.array([np.sqrt(np.mean((s.implied_vol(k[ok[i]], t) - iv[i, ok[i]]) ** 2))
                                     for i, (s, t) in enumerate(zip(slices, BATES_TAUS))])
    times = {"SVI slice": t_svi}
    for phi in ("power_law", "heston"):
        t0 = time.perf_counter()
        fit = svi.fit_ssvi(kk[ok], tt[ok], w, phi=phi, weights=1.0 / (4.0 * w * tt[ok]))
        times[f"SSVI {phi}"] = time.perf_counter() - t0
        err = np.where(ok, fit.implied_vol(kk, tt) - iv, np.nan)
        columns[f"SSVI {phi}"] = np.sqrt(np.nanmean(err**2, axis=1))
    print(f"Bates reference surface, RMSE in implied vol per maturity ({ok.sum()} finite quotes of {ok.size})")
    print("| tau (y) | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for i, t in enumerate(BATES_TAUS):
        print(f"| {t:.4f} | " + " | ".join(f"{c[i]:.2e}" for c in columns.values()) + " |")
    print("fit time: " + ", ".join(f"{name} {sec:.2f} s" for name, sec in times.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 slices and 20 surfaces instead of 1000 and 100")
    args = parser.parse_args()
    n_slices, n_surfaces = (200, 20) if args.quick else (1000, 100)
    print(f"{n_slices} random noisy SVI slices (noise {NOISE} in w):")
    peers = {"ivfast.svi.fit_slice": svi.fit_slice, "SLSQP fixed start (notebook)": slsqp_slice}
    sweep(n_slices, random_slice, peers, _slice_ok)
    print(f"{n_surfaces} random noisy power-law SSVI surfaces:")
    sweep(n_surfaces, random_ssvi, {"ivfast.svi.fit_ssvi": svi.fit_ssvi, "SLSQP fixed start": slsqp_ssvi}, _surface_ok)
    bates_report()


if __name__ == "__main__":
    main()
