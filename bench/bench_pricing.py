"""Bates surface pricing: ivfast's Carr–Madan/FFTW engine against the peers, in one run.

Peers: the seed's NumPy method (bench/seed_carr_madan.py), QuantLib's BatesEngine (default
Gauss–Laguerre) and fourier-option-pricer (foureng) carr_madan / cos / sinc. Accuracy is measured
against the tests' independent high-precision reference (tests/test_pricing_reference.py: per-strike
Gauss–Legendre panels along an optimally damped contour, spot-checked with mpmath), computed here
for the seed grid (and QuantLib's day-rounded maturities). ivfast runs at its default tolerance
(1e-10, the issue's accuracy target) and at 1e-13. Prints CPU ms per 18x18 surface (single-threaded
engines; CPU time is robust to a shared machine), max abs error and the ratio to ivfast's default;
then the random-parameter throughput (wall clock), NaN counts and thread scaling of
ivfast.call_prices_batch. The load average is printed with each block.

    OMP_NUM_THREADS=... python bench/bench_pricing.py [--n-random 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import ivfast  # noqa: E402
from seed_carr_madan import seed_call_surface  # noqa: E402
from test_pricing_reference import otm_price  # noqa: E402

STRIKES, TAUS = ivfast.datasets.ackerer_grid()
SETS = {
    "reference": ivfast.BatesParams(**ivfast.datasets.ACKERER_REFERENCE_BATES).as_tuple(),
    "subsequent": ivfast.BatesParams(**ivfast.datasets.ACKERER_SUBSEQUENT_BATES).as_tuple(),
}


def median_time(fn, repeat, clock=time.process_time):
    """Median time of fn(); CPU time by default (fair to single-threaded engines on a busy machine)."""
    times = []
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        times.append(clock() - t0)
    return statistics.median(times), out


def load():
    return f"load average {os.getloadavg()[0]:.1f}"


def reference_calls(p, taus):
    """Call prices (spot 1, r = q = 0) from the tests' independent out-of-the-money quadrature."""
    otm = np.array([[otm_price(np.log(k), t, p, panels_per_scale=3.0)[0] for k in STRIKES] for t in taus])
    return np.where(STRIKES[None, :] >= 1.0, otm, otm + 1.0 - STRIKES[None, :])


def quantlib_surface(p):
    import QuantLib as ql

    v0, kappa, theta, sigma, rho, lam, beta, alpha = p
    today = ql.Date(1, 7, 2020)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    flat = ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc))
    process = ql.BatesProcess(flat, flat, ql.QuoteHandle(ql.SimpleQuote(1.0)), v0, kappa, theta, sigma, rho, lam,
                              np.log1p(beta) - 0.5 * alpha**2, alpha)
    engine = ql.BatesEngine(ql.BatesModel(process))
    out = np.empty((len(TAUS), len(STRIKES)))
    for i, t in enumerate(TAUS):
        expiry = today + ql.Period(int(round(t * 365)), ql.Days)
        for j, k in enumerate(STRIKES):
            opt = ql.EuropeanOption(ql.PlainVanillaPayoff(ql.Option.Call, float(k)), ql.EuropeanExercise(expiry))
            opt.setPricingEngine(engine)
            out[i, j] = opt.NPV()
    return out


def quantlib_taus():
    return np.array([round(t * 365) / 365 for t in TAUS])


def foureng_surface(p, method):
    import foureng as fe

    v0, kappa, theta, sigma, rho, lam, beta, alpha = p
    params = fe.BatesParams(kappa=kappa, theta=theta, nu=sigma, rho=rho, v0=v0, lam_j=lam,
                            mu_j=np.log1p(beta) - 0.5 * alpha**2, sigma_j=alpha)
    # carr_madan needs a grid: the package's documented defaults (N = 4096, eta = 0.25, alpha = 1.5)
    grid = fe.FFTGrid(N=4096, eta=0.25, alpha=1.5) if method == "carr_madan" else None
    return np.array([fe.price_strip("bates", method, STRIKES, fe.ForwardSpec(S0=1.0, r=0.0, q=0.0, T=float(t)), params,
                                    grid=grid) for t in TAUS])


def random_sets(n, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.array([0.005, 0.1, 0.01, 0.1, -0.95, 0.0, -0.3, 0.0])
    hi = np.array([0.25, 5.0, 0.25, 1.5, 0.5, 1.0, 0.2, 0.8])
    return lo + (hi - lo) * rng.random((n, 8))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-random", type=int, default=1000)
    ap.add_argument("--n-seed-random", type=int, default=50, help="random sets for the seed's NaN rate (0.5 s each)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    for name, p in SETS.items():
        bp = ivfast.BatesParams(*p)
        exact = reference_calls(p, TAUS)
        t_iv, ours = median_time(lambda: ivfast.call_prices(bp, STRIKES, TAUS, threads=1), args.repeat)
        rows = [("ivfast fft, tol 1e-10", t_iv, np.abs(ours - exact).max())]
        t, ours = median_time(lambda: ivfast.call_prices(bp, STRIKES, TAUS, threads=1, tolerance=1e-13), args.repeat)
        rows.append(("ivfast fft, tol 1e-13", t, np.abs(ours - exact).max()))
        t, s = median_time(lambda: seed_call_surface(p, STRIKES, TAUS), args.repeat)
        rows.append(("seed NumPy Carr-Madan", t, np.nanmax(np.abs(s - exact))))
        try:
            exact_ql = reference_calls(p, quantlib_taus())
            t, s = median_time(lambda: quantlib_surface(p), args.repeat)
            rows.append(("QuantLib BatesEngine", t, np.abs(s - exact_ql).max()))
        except ImportError:
            pass
        for method in ("carr_madan", "cos", "sinc"):
            try:
                t, s = median_time(lambda m=method: foureng_surface(p, m), args.repeat)
                rows.append((f"foureng {method}", t, np.nanmax(np.abs(s - exact))))
            except ImportError:
                break
        print(f"\n{name} set, 18x18 surface (CPU time, median of {args.repeat}; {load()}):")
        print(f"  {'engine':26s} {'ms/surface':>11s} {'max abs err':>12s} {'time / ivfast 1e-10':>20s}")
        for label, t, err in rows:
            print(f"  {label:26s} {t * 1e3:11.2f} {err:12.2e} {t / t_iv:19.1f}x")

    sets = random_sets(args.n_random)
    threads = os.cpu_count() or 1
    wall = time.perf_counter
    t1, out = median_time(lambda: ivfast.call_prices_batch(sets, STRIKES, TAUS, threads=1), 1, wall)
    tn, _ = median_time(lambda: ivfast.call_prices_batch(sets, STRIKES, TAUS, threads=threads), 1, wall)
    print(f"\n{args.n_random} random Bates sets: NaN prices {int(np.isnan(out).sum())}; "
          f"{args.n_random / t1:.1f} surfaces/s on 1 thread, {args.n_random / tn:.1f} on {threads} "
          f"(speed-up {t1 / tn:.2f}x; wall clock, {load()})")
    seed_nan = 0
    for p in sets[: args.n_seed_random]:
        seed_nan += bool(np.isnan(seed_call_surface(tuple(p), STRIKES, TAUS)).any())
    print(f"seed method: {seed_nan} of {min(args.n_seed_random, len(sets))} random sets give NaN prices")


if __name__ == "__main__":
    main()
