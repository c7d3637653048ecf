"""Default parameter ranges and implied-vol grids of the surrogate pricer (NumPy only).

Strikes are relative to spot (spot = 1) and maturities are in years. Two grids are provided:

* ``HORVATH_STRIKES`` x ``HORVATH_TAUS``: the 11 x 8 grid of Horvath, Muguruza & Tomas (2021),
  "Deep learning volatility", strikes 0.5, 0.6, ..., 1.5 and maturities 0.1, 0.3, 0.6, 0.9, 1.2,
  1.5, 1.8, 2.0 years (the default);
* ``PCA_STRIKES`` x ``PCA_TAUS``: the 10 x 6 grid of the reference residual-MLP / PCA-head Heston
  surrogate notebook (see ``docs/references.md``): strikes 0.8 to 1.5, maturities 30, 60, 90, 180,
  270 and 360 days (ACT/365).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..models import DOMAIN, BatesParams, HestonParams

__all__ = ["MODELS", "DEFAULT_RANGES", "HORVATH_STRIKES", "HORVATH_TAUS", "PCA_STRIKES", "PCA_TAUS",
           "model_class", "resolve_ranges", "validate_grid"]

HORVATH_STRIKES = np.round(np.linspace(0.5, 1.5, 11), 12)
HORVATH_TAUS = np.array([0.1, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.0])
PCA_STRIKES = np.array([0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.3, 1.4, 1.5])
PCA_TAUS = np.array([30.0, 60.0, 90.0, 180.0, 270.0, 360.0]) / 365.0

MODELS: dict[str, type] = {"heston": HestonParams, "bates": BatesParams}

# Sampling box per parameter (uniform in each coordinate). Variances 0.02-0.25 are vols of about
# 14-50 %; lower variances make the 0.1-year wings of the default grid (strikes 0.5 and 1.5, i.e.
# 10+ standard deviations) worth less than the pricer's accuracy, and such samples are dropped.
# rho <= 0 as for equity indices. Jumps: up to 1.5 a year, mean relative size -30 % to +10 %,
# log-size volatility 1-40 %.
_HESTON_RANGES = {"v0": (0.02, 0.25), "kappa": (0.5, 8.0), "theta": (0.02, 0.25), "sigma": (0.1, 1.0),
                  "rho": (-0.95, 0.0)}
DEFAULT_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "heston": dict(_HESTON_RANGES),
    "bates": {**_HESTON_RANGES, "lam": (0.0, 1.5), "beta": (-0.3, 0.1), "alpha": (0.01, 0.4)},
}


def model_class(model: str) -> type:
    """Return the parameter dataclass of ``model``.

    Parameters
    ----------
    model : {"heston", "bates"}
        Model name.

    Returns
    -------
    type
        :class:`ivfast.HestonParams` or :class:`ivfast.BatesParams`.

    Raises
    ------
    ValueError
        For another name.
    """
    if model not in MODELS:
        raise ValueError(f"model: expected one of {sorted(MODELS)}, got {model!r}")
    return MODELS[model]


def resolve_ranges(model: str, ranges: Mapping[str, Any] | None) -> dict[str, tuple[float, float]]:
    """Return the default sampling box of ``model`` with ``ranges`` overriding some fields, validated.

    Parameters
    ----------
    model : {"heston", "bates"}
        Model name.
    ranges : mapping, optional
        Field name -> ``(low, high)`` for the fields to override (see :data:`DEFAULT_RANGES`).

    Returns
    -------
    dict
        Field -> ``(low, high)`` for every parameter of the model, in its field order.

    Raises
    ------
    ValueError
        For an unknown model or field, a bound pair that is not two numbers, ``low >= high``,
        or a bound outside the model's domain.
    """
    model_class(model)
    out = dict(DEFAULT_RANGES[model])
    for name, bounds in (ranges or {}).items():
        if name not in out:
            raise ValueError(f"ranges: unknown field {name!r} for model {model!r}; expected some of {list(out)}")
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise ValueError(f"ranges[{name!r}]: expected (low, high), got {bounds!r}") from None
        out[name] = (lo, hi)
    for name, (lo, hi) in out.items():
        ok, expected = DOMAIN[name]
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi and ok(lo) and ok(hi)):
            raise ValueError(f"ranges[{name!r}]: expected finite low < high with {expected}, got ({lo}, {hi})")
    return out


def validate_grid(strikes: ArrayLike, taus: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Check a surrogate grid and return it as float64 arrays.

    Parameters
    ----------
    strikes : array_like, 1-D
        Strikes relative to spot (spot = 1), at least 3.
    taus : array_like, 1-D
        Maturities in years, at least 3.

    Returns
    -------
    strikes, taus : ndarray
        The grid as float64 arrays.

    Raises
    ------
    ValueError
        Unless both are 1-D with at least 3 positive, finite, strictly increasing values.
    """
    out = []
    for name, value in (("strikes", strikes), ("taus", taus)):
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim != 1 or arr.size < 3:
            raise ValueError(f"{name}: expected a 1-D array of at least 3 values, got shape {arr.shape}")
        if not (np.isfinite(arr).all() and (arr > 0).all() and (np.diff(arr) > 0).all()):
            raise ValueError(f"{name}: expected positive, finite, strictly increasing values")
        out.append(arr)
    return out[0], out[1]
