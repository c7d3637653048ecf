"""Resample any total-variance surface onto a standard grid (long-format DataFrame)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .._arrays import quote_vector
from ..protocols import TotalVarianceSurface

__all__ = ["resample", "resample_moneyness_days", "STANDARD_MONEYNESS", "STANDARD_DAYS"]

STANDARD_MONEYNESS = np.linspace(0.6, 1.2, 21)
"""Default K/F grid: 21 moneyness values from 0.6 to 1.2."""
STANDARD_DAYS = np.linspace(15.0, 90.0, 21)
"""Default calendar-day grid: 21 expiries from 15 to 90 days."""


def _check_surface(surface: object) -> None:
    if not isinstance(surface, TotalVarianceSurface):
        raise ValueError("surface: expected an object with total_variance(k, tau) and implied_vol(k, tau)")


def resample(surface: TotalVarianceSurface, k: ArrayLike, tau: ArrayLike) -> pd.DataFrame:
    """Evaluate ``surface`` on the product grid ``tau x k``.

    Parameters
    ----------
    surface : TotalVarianceSurface
        Any object with ``total_variance(k, tau)`` and ``implied_vol(k, tau)``
        (:class:`ivfast.protocols.TotalVarianceSurface`), e.g. :class:`SviSurface`, :class:`SSVI`.
    k : array_like, 1-D
        Log-moneyness ln(K/F).
    tau : array_like, 1-D
        Year fractions > 0.

    Returns
    -------
    pandas.DataFrame
        One row per (tau, k), tau-major, columns ``tau``, ``k``, ``total_variance``,
        ``implied_vol``.

    Raises
    ------
    ValueError
        If ``surface`` lacks the two methods, or ``k`` / ``tau`` are not finite (tau > 0).
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
    moneyness: ArrayLike = STANDARD_MONEYNESS,
    days: ArrayLike = STANDARD_DAYS,
    *,
    day_count: float = 365.0,
) -> pd.DataFrame:
    """Evaluate ``surface`` on a (K/F, calendar days) grid, tau = days / ``day_count``.

    Parameters
    ----------
    surface : TotalVarianceSurface
        As in :func:`resample`.
    moneyness : array_like, 1-D, default :data:`STANDARD_MONEYNESS`
        Strikes relative to the forward, K/F > 0 (k = ln(K/F)).
    days : array_like, 1-D, default :data:`STANDARD_DAYS`
        Calendar days to expiry, > 0.
    day_count : float, default 365.0
        Days per year.

    Returns
    -------
    pandas.DataFrame
        One row per (days, moneyness), days-major, columns ``days``, ``moneyness`` (K/F) and
        those of :func:`resample`.

    Raises
    ------
    ValueError
        For a non-positive ``day_count`` or grid value, and as :func:`resample`.
    """
    moneyness = quote_vector(moneyness, "moneyness", positive=True)
    days = quote_vector(days, "days", positive=True)
    if not (np.isfinite(day_count) and day_count > 0):
        raise ValueError(f"day_count: expected days per year > 0, got {day_count!r}")
    out = resample(surface, np.log(moneyness), days / day_count)
    out.insert(0, "days", np.repeat(days, moneyness.size))
    out.insert(1, "moneyness", np.tile(moneyness, days.size))
    return out
