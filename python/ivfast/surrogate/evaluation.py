"""Evaluation report of a surrogate on held-out grids: accuracy, buckets, residuals, static arbitrage.

Buckets follow the seed: ATM strikes 0.95 <= K/S <= 1.05, OTM puts K/S < 0.95, OTM calls K/S > 1.05;
short maturities tau <= median of the grid's maturities, long ones above. The arbitrage share
converts every predicted grid to discounted call prices with :func:`ivfast.black_price` (inside
:func:`ivfast.arbitrage.check_vols`) and applies the model-free discrete checks (price bounds,
call spreads, butterflies, calendar spreads); the true grids are checked the same way as a control.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from ..arbitrage import check_vols
from .model import Surrogate

__all__ = ["evaluate", "accuracy_metrics", "bucket_masks", "arbitrage_share"]

# Violations smaller than this (undiscounted price as a fraction of the forward) are rounding of
# the price conversion, not arbitrage.
ARBITRAGE_TOL = 1e-10


def accuracy_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """R^2 (pooled over all cells), RMSE, MAE, max / median absolute and relative errors (vol units)."""
    err = (pred - true).ravel()
    t = true.ravel()
    a, rel = np.abs(err), np.abs(err) / np.abs(t)
    return {"r2": float(1.0 - np.sum(err**2) / np.sum((t - t.mean()) ** 2)), "rmse": float(np.sqrt(np.mean(err**2))),
            "mae": float(a.mean()), "max_abs": float(a.max()), "median_abs": float(np.median(a)),
            "mean_rel": float(rel.mean()), "median_rel": float(np.median(rel)),
            "p99_rel": float(np.quantile(rel, 0.99)), "max_rel": float(rel.max()), "n_points": int(t.size)}


def bucket_masks(strikes: np.ndarray, taus: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean (n_taus, n_strikes) masks of the seed's strike and maturity buckets."""
    k = np.broadcast_to(strikes[None, :], (taus.size, strikes.size))
    t = np.broadcast_to(taus[:, None], k.shape)
    short = t <= np.median(taus)
    return {"atm": (k >= 0.95) & (k <= 1.05), "otm_put": k < 0.95, "otm_call": k > 1.05, "short": short,
            "long": ~short}


def arbitrage_share(iv: np.ndarray, strikes: np.ndarray, taus: np.ndarray, rate: float = 0.0, dividend: float = 0.0,
                    tol: float = ARBITRAGE_TOL) -> dict[str, Any]:
    """Share of grids ``iv`` (n, n_taus, n_strikes) with static arbitrage, and violations per kind."""
    fwd = np.exp((rate - dividend) * taus)
    disc = np.exp(-rate * taus)
    flagged, kinds = 0, {}
    for grid in iv:
        report = check_vols(strikes, taus, np.maximum(grid, 0.0), fwd, disc, tol=tol)
        flagged += not report.ok()
        for kind, count in report.counts().items():
            kinds[kind] = kinds.get(kind, 0) + count
    return {"share": flagged / max(len(iv), 1), "n_surfaces": int(len(iv)), "violations": kinds, "tol": tol}


def _residual_stats(err: np.ndarray) -> dict[str, float]:
    jb = stats.jarque_bera(err)
    return {"mean": float(err.mean()), "std": float(err.std()), "skewness": float(stats.skew(err)),
            "excess_kurtosis": float(stats.kurtosis(err)), "jarque_bera": float(jb.statistic),
            "jarque_bera_pvalue": float(jb.pvalue)}


def evaluate(surrogate: Surrogate, params: np.ndarray, iv: np.ndarray, out_dir: str | os.PathLike | None = None, *,
             arbitrage_surfaces: int = 1000, history: list[dict[str, float]] | None = None,
             figures: bool = True) -> dict[str, Any]:
    """Accuracy report of ``surrogate`` on parameter sets ``params`` with true grids ``iv``.

    Parameters
    ----------
    params : ndarray, shape (n, n_params)
    iv : ndarray, shape (n, n_taus, n_strikes)
        True implied vols (e.g. the test split of the dataset).
    out_dir : path, optional
        Write ``report.json`` (and, with ``figures``, PNG figures) there.
    arbitrage_surfaces : int
        Check the first this many predicted (and true) grids for static arbitrage (0: skip).
    history : list of dict, optional
        Training history to plot.

    Returns
    -------
    dict
        ``overall`` metrics, ``buckets`` (metrics per bucket), ``residuals`` statistics, ``per_cell_mae``
        (n_taus x n_strikes), ``arbitrage`` for predicted and true grids.
    """
    iv = np.asarray(iv, dtype=np.float64)
    pred = surrogate.predict(params)
    if pred.shape != iv.shape:
        raise ValueError(f"iv: expected shape {pred.shape}, got {iv.shape}")
    masks = bucket_masks(surrogate.strikes, surrogate.taus)
    report: dict[str, Any] = {
        "n_surfaces": int(len(iv)), "model": surrogate.model, "arch": surrogate.arch, "training": surrogate.info,
        "overall": accuracy_metrics(pred, iv),
        "buckets": {name: accuracy_metrics(pred[:, m], iv[:, m]) for name, m in masks.items() if m.any()},
        "residuals": _residual_stats((iv - pred).ravel()),
        "per_cell_mae": np.abs(pred - iv).mean(axis=0).tolist(),
    }
    if arbitrage_surfaces:
        sub = slice(0, arbitrage_surfaces)
        market = (surrogate.strikes, surrogate.taus, surrogate.rate, surrogate.dividend)
        report["arbitrage"] = {"predicted": arbitrage_share(pred[sub], *market),
                               "true": arbitrage_share(iv[sub], *market)}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if figures:
            from .plots import save_figures

            report["figures"] = save_figures(out, surrogate, pred, iv, report, history)
        (out / "report.json").write_text(json.dumps(report, indent=1))
    return report
