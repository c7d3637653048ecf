"""Resample any total-variance surface onto a standard grid (long-format DataFrame)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._arrays import quote_vector
from ..protocols import TotalVarianceSurface

__all__ = ["resample", "resample_moneyness_days", "STANDARD_MONEYNESS", "STANDARD_DAYS"]

STANDARD_MONEYNESS = np.linspace(0.6, 1.2, 21)
"""Default K/F grid (the seed notebook's 21 strikes from 0.6 to 1.2)."""
STANDARD_DAYS = np.linspace(15.0, 90.0, 21)
"""Default calendar-day grid (the seed notebook's 21 expiries from 15 to 90 days)."""


def _check_surface(surface: Any) -> None:
    if not isinstance(surface, TotalVarianceSurface):
        raise ValueError("surface: expected an object with total_variance(k, tau) and implied_vol(k, tau)")


def resample(surface: TotalVarianceSurface, k: Any, tau: Any) -> pd.DataFrame:
    """Evaluate ``surface`` on the product grid ``tau x k``.

    Parameters
    ----------
    surface : TotalVarianceSurface
    k : array_like, 1-D
        Log-moneyness ln(K/F).
    tau : array_like, 1-D
        Year fractions > 0.

    Returns
    -------
    pandas.DataFrame
        One row per (tau, k), tau-major, columns ``tau``, ``k``, ``total_variance``,
        ``implied_vol``.
    """
    _check_surface(surface)
    k = quote_vector(k, "k")
    tau = quote_vector(tau, "tau", positive=True)
    tt, kk = (a.ravel() for a in np.meshgrid(tau, k, indexing="ij"))
    return pd.DataFrame(
        {
            "tau": tt,
            "k": kk,
            "total_variance": np.asarray(surface.total_variance(kk, tt), dtype=np.float64),
            "implied_vol": np.asarray(surface.implied_vol(kk, tt), dtype=np.float64),
        }
    )


def resample_moneyness_days(
    surface: TotalVarianceSurface,
    moneyness: Any = STANDARD_MONEYNESS,
    days: Any = STANDARD_DAYS,
    *,
    day_count: float = 365.0,
) -> pd.DataFrame:
    """Evaluate ``surface`` on a (K/F, calendar days) grid, tau = days / ``day_count``.

    Returns the columns of :func:`resample` plus ``moneyness`` (K/F) and ``days``.
    """
    moneyness = quote_vector(moneyness, "moneyness", positive=True)
    days = quote_vector(days, "days", positive=True)
    if not (np.isfinite(day_count) and day_count > 0):
        raise ValueError(f"day_count: expected days per year > 0, got {day_count!r}")
    out = resample(surface, np.log(moneyness), days / day_count)
    out.insert(0, "days", np.repeat(days, moneyness.size))
    out.insert(1, "moneyness", np.tile(moneyness, days.size))
    return out
