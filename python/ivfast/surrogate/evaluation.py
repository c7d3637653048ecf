"""Evaluation report of a surrogate on held-out grids: accuracy, buckets, residuals, static arbitrage.

Buckets: ATM strikes 0.95 <= K/S <= 1.05, OTM puts K/S < 0.95, OTM calls K/S > 1.05; short
maturities tau <= median of the grid's maturities, long ones above. The arbitrage share
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
from numpy.typing import ArrayLike
from scipy import stats

from ..arbitrage import check_vols
from .model import Surrogate

__all__ = ["evaluate", "accuracy_metrics", "bucket_masks", "arbitrage_share"]

# Violations smaller than this (undiscounted price as a fraction of the forward) are rounding of
# the price conversion, not arbitrage.
ARBITRAGE_TOL = 1e-10


def accuracy_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Compute accuracy metrics of predicted against true vols, pooled over all cells.

    Parameters
    ----------
    pred, true : ndarray
        Predicted and true implied vols, same shape.

    Returns
    -------
    dict
        ``r2``, ``rmse``, ``mae``, ``max_abs``, ``median_abs`` (vol units: 0.01 is one vol point),
        ``mean_rel``, ``median_rel``, ``p99_rel``, ``max_rel`` (relative to the true vol) and
        ``n_points``.
    """
    err = (pred - true).ravel()
    t = true.ravel()
    a, rel = np.abs(err), np.abs(err) / np.abs(t)
    return {"r2": float(1.0 - np.sum(err**2) / np.sum((t - t.mean()) ** 2)), "rmse": float(np.sqrt(np.mean(err**2))),
            "mae": float(a.mean()), "max_abs": float(a.max()), "median_abs": float(np.median(a)),
            "mean_rel": float(rel.mean()), "median_rel": float(np.median(rel)),
            "p99_rel": float(np.quantile(rel, 0.99)), "max_rel": float(rel.max()), "n_points": int(t.size)}


def bucket_masks(strikes: np.ndarray, taus: np.ndarray) -> dict[str, np.ndarray]:
    """Build boolean masks of the strike and maturity buckets (module docstring).

    Parameters
    ----------
    strikes : ndarray, shape (n_strikes,)
        Strikes relative to spot.
    taus : ndarray, shape (n_taus,)
        Maturities in years.

    Returns
    -------
    dict
        ``atm``, ``otm_put``, ``otm_call``, ``short``, ``long`` -> bool array (n_taus, n_strikes).
    """
    k = np.broadcast_to(strikes[None, :], (taus.size, strikes.size))
    t = np.broadcast_to(taus[:, None], k.shape)
    short = t <= np.median(taus)
    return {"atm": (k >= 0.95) & (k <= 1.05), "otm_put": k < 0.95, "otm_call": k > 1.05, "short": short,
            "long": ~short}


def arbitrage_share(iv: np.ndarray, strikes: np.ndarray, taus: np.ndarray, rate: float = 0.0, dividend: float = 0.0,
                    tol: float = ARBITRAGE_TOL) -> dict[str, Any]:
    """Measure the share of vol grids with static arbitrage, and the violations per kind.

    Parameters
    ----------
    iv : ndarray, shape (n, n_taus, n_strikes)
        Implied-vol grids (negative vols are clipped to 0).
    strikes : ndarray, shape (n_strikes,)
        Strikes relative to spot (spot 1).
    taus : ndarray, shape (n_taus,)
        Maturities in years.
    rate, dividend : float, default 0.0
        Continuously compounded rate and dividend yield.
    tol : float, default ARBITRAGE_TOL
        Violations up to this size (undiscounted price as a fraction of the forward) are ignored.

    Returns
    -------
    dict
        ``share`` of grids with a violation, ``n_surfaces``, ``violations`` (kind -> count) and
        ``tol``.
    """
    fwd = np.exp((rate - dividend) * taus)
    disc = np.exp(-rate * taus)
    flagged = 0
    kinds: dict[str, int] = {}
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


def evaluate(surrogate: Surrogate, params: ArrayLike, iv: ArrayLike, out_dir: str | os.PathLike[str] | None = None,
             *, arbitrage_surfaces: int = 1000, history: list[dict[str, float]] | None = None,
             figures: bool = True) -> dict[str, Any]:
    """Report the accuracy of ``surrogate`` on parameter sets ``params`` with true grids ``iv``.

    Parameters
    ----------
    surrogate : Surrogate
        The trained surrogate.
    params : array_like, shape (n, n_params)
        Parameter sets in the surrogate's order (``surrogate.names``).
    iv : array_like, shape (n, n_taus, n_strikes)
        True implied vols (e.g. the test split of the dataset).
    out_dir : str or os.PathLike, optional
        Write ``report.json`` (and, with ``figures``, PNG figures) there.
    arbitrage_surfaces : int, default 1000
        Check the first this many predicted (and true) grids for static arbitrage (0: skip).
    history : list of dict, optional
        Training history to plot (:attr:`TrainResult.history`).
    figures : bool, default True
        With ``out_dir``, also write the PNG figures (needs matplotlib).

    Returns
    -------
    dict
        ``overall`` metrics, ``buckets`` (metrics per bucket), ``residuals`` statistics, ``per_cell_mae``
        (n_taus x n_strikes), ``arbitrage`` for predicted and true grids, and with ``figures``
        the written file names.

    Raises
    ------
    ValueError
        If ``iv`` does not have the shape of the predictions for ``params``.
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
