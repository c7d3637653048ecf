"""The end-to-end demo behind ``ivfast demo``: each stage prints what it measured.

Stage 1 (implied volatility): Black-76 prices of a hard random option set
(:func:`ivfast.datasets.iv_stress_set`: vols 1 %-300 %, expiries 1 day-10 years, |ln(F/K)| up
to 20 standard deviations) are inverted single-threaded and with all threads, and the recovered
vols are compared with the vols that made the prices, relative to the accuracy the rounded
inputs allow (:func:`ivfast.attainable_iv_accuracy`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from ..black import attainable_iv_accuracy, black_price, implied_vol
from ..datasets import iv_stress_set

__all__ = ["IVBenchmark", "iv_demo_table", "run_iv_stage"]


@dataclass(frozen=True)
class IVBenchmark:
    """Throughput and accuracy of one implied-volatility run over the well-posed rows.

    Attributes
    ----------
    label : str
        The run's name (thread count).
    n : int
        Options inverted.
    seconds : float
        Wall time of the inversion.
    well_posed : int
        Rows whose attainable relative accuracy is 1e-3 or better (the price carries volatility
        information); the accuracy columns cover these.
    median_rel_err : float
        Median relative error of the recovered vol.
    max_err_over_attainable : float
        Largest relative error divided by the accuracy the rounded inputs allow
        (:func:`ivfast.attainable_iv_accuracy`).
    failures : int
        Well-posed rows without a finite vol.
    """

    label: str
    n: int
    seconds: float
    well_posed: int
    median_rel_err: float
    max_err_over_attainable: float
    failures: int

    @property
    def ns_per_option(self) -> float:
        """Wall time per option in nanoseconds."""
        return self.seconds / self.n * 1e9


def run_iv_stage(n: int = 1_000_000, seed: int = 0) -> list[IVBenchmark]:
    """Invert ``n`` stress-set prices with 1 thread and with all threads; return the measurements.

    Parameters
    ----------
    n : int
        Options in the stress set (:func:`ivfast.datasets.iv_stress_set`; forward 100).
    seed : int
        Seed of the stress set.

    Returns
    -------
    list of IVBenchmark
        The single-threaded run, then the run with all threads.
    """
    strike, tau, sigma, is_call = iv_stress_set(n, seed)
    price = black_price(100.0, strike, tau, sigma, is_call=is_call)
    attainable = np.asarray(attainable_iv_accuracy(price, 100.0, strike, tau, sigma, is_call=is_call))
    well_posed = attainable <= 1e-3  # worse than that, the price carries ~no volatility information
    results = []
    for label, threads in (("1 thread", 1), (f"{os.cpu_count()} threads", None)):
        start = time.perf_counter()
        vol = implied_vol(price, 100.0, strike, tau, is_call=is_call, threads=threads)
        seconds = time.perf_counter() - start
        vol = np.asarray(vol)
        rel = np.abs(vol[well_posed] / sigma[well_posed] - 1.0)
        results.append(IVBenchmark(label, n, seconds, int(well_posed.sum()), float(np.nanmedian(rel)),
                                   float(np.nanmax(rel / attainable[well_posed])),
                                   int(np.count_nonzero(~np.isfinite(vol[well_posed])))))
    return results


def iv_demo_table(results: list[IVBenchmark]) -> str:
    """Format :func:`run_iv_stage` results as a fixed-width table.

    Parameters
    ----------
    results : list of IVBenchmark
        The runs, one row each.

    Returns
    -------
    str
        A header line and one line per run.
    """
    lines = [f"{'run':<12} {'options':>10} {'ns/option':>10} {'well-posed':>11} {'median rel err':>15} "
             f"{'max err/attainable':>19} {'failures':>9}"]
    for r in results:
        lines.append(f"{r.label:<12} {r.n:>10,d} {r.ns_per_option:>10.0f} {r.well_posed:>11,d} "
                     f"{r.median_rel_err:>15.1e} {r.max_err_over_attainable:>19.2f} {r.failures:>9d}")
    return "\n".join(lines)
