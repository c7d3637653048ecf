"""The end-to-end demo behind ``ivfast demo``: each stage prints what it measured.

Stage 1 (implied volatility): Black-76 prices of a hard random option set (the accuracy
recipe of tests/test_implied_vol.py: vols 1%-300%, expiries 1 day-10 years, |ln(F/K)| up to 20
standard deviations) are inverted single-threaded and with all threads, and the recovered
vols are compared with the vols that made the prices.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from .black import black_price, implied_vol

__all__ = ["IVBenchmark", "iv_demo_table", "run_iv_stage"]


@dataclass(frozen=True)
class IVBenchmark:
    """Throughput and accuracy of one implied-volatility run."""

    label: str
    n: int
    seconds: float
    median_rel_err: float
    max_rel_err: float
    failures: int

    @property
    def ns_per_option(self) -> float:
        return self.seconds / self.n * 1e9


def _recipe(n: int, seed: int):
    rng = np.random.default_rng(seed)
    sigma = np.exp(rng.uniform(np.log(0.01), np.log(3.0), n))
    tau = np.exp(rng.uniform(np.log(1 / 365), np.log(10.0), n))
    is_call = rng.random(n) < 0.5
    h = np.where(rng.random(n) < 0.1, np.where(is_call, -1, 1) * rng.uniform(5, 20, n), rng.uniform(-5, 5, n))
    strike = 100.0 * np.exp(-h * sigma * np.sqrt(tau))
    return strike, tau, sigma, is_call


def run_iv_stage(n: int = 1_000_000, seed: int = 0) -> list[IVBenchmark]:
    """Invert ``n`` recipe prices with 1 thread and with all threads; return the measurements."""
    strike, tau, sigma, is_call = _recipe(n, seed)
    price = black_price(100.0, strike, tau, sigma, is_call=is_call)
    # Rows whose price has lost its time value to rounding carry no volatility information.
    informative = np.abs(price - np.maximum(np.where(is_call, 100.0 - strike, strike - 100.0), 0)) > 1e-12 * price
    results = []
    for label, threads in (("1 thread", 1), (f"{os.cpu_count()} threads", None)):
        start = time.perf_counter()
        vol = implied_vol(price, 100.0, strike, tau, is_call=is_call, threads=threads)
        seconds = time.perf_counter() - start
        rel = np.abs(vol[informative] / sigma[informative] - 1.0)
        results.append(IVBenchmark(label, n, seconds, float(np.nanmedian(rel)), float(np.nanmax(rel)),
                                   int(np.count_nonzero(~np.isfinite(vol[informative])))))
    return results


def iv_demo_table(results: list[IVBenchmark]) -> str:
    """Format :func:`run_iv_stage` results as a fixed-width table."""
    lines = [f"{'run':<12} {'options':>10} {'ns/option':>10} {'median rel err':>15} {'max rel err':>12} {'failures':>9}"]
    for r in results:
        lines.append(f"{r.label:<12} {r.n:>10,d} {r.ns_per_option:>10.0f} {r.median_rel_err:>15.1e} "
                     f"{r.max_rel_err:>12.1e} {r.failures:>9d}")
    return "\n".join(lines)
