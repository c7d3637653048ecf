"""European option prices under Black–Scholes, Heston and Bates by Fourier inversion (C++/FFTW).

Prices come from Carr–Madan's damped Fourier integral, one FFT per maturity and wing (puts below
the forward, calls above, so that small out-of-the-money prices keep their relative accuracy),
with the damping, grid spacing, truncation and FFT length chosen per maturity from the
characteristic function so that every price meets an absolute error target (``tolerance`` times
the discounted forward). The characteristic functions are evaluated in the "little Heston trap"
form, which has no branch-cut jumps at long maturities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from . import _arrays
from ._core import OptionSide
from ._core import fourier_prices as _fourier_prices
from .black import IVStatus, implied_vol
from .models import DOMAIN, MODEL_KINDS, BatesParams, BlackScholesParams, HestonParams

__all__ = ["call_prices", "put_prices", "call_prices_batch", "implied_vol_surface"]

ModelParams = Union[BlackScholesParams, HestonParams, BatesParams]

DEFAULT_TOLERANCE = 1e-10


def _grid(strikes: Any, taus: Any) -> tuple[np.ndarray, np.ndarray]:
    grid = {}
    for name, value in (("strikes", strikes), ("taus", taus)):
        arr = np.atleast_1d(_arrays.as_float_array(value, name))
        if arr.ndim != 1:
            raise ValueError(f"{name}: expected a scalar or a 1-D array, got shape {arr.shape}")
        bad = ~(np.isfinite(arr) & (arr > 0.0))
        if bad.any():
            raise ValueError(f"{name}: expected positive finite values, got {arr[bad][:5].tolist()}")
        grid[name] = np.ascontiguousarray(arr)
    return grid["strikes"], grid["taus"]


def _market(spot: float, rate: float, dividend: float) -> tuple[float, float, float]:
    values = []
    for name, value in (("spot", spot), ("rate", rate), ("dividend", dividend)):
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: expected a real number, got {value!r}") from None
        if not np.isfinite(v) or (name == "spot" and v <= 0.0):
            raise ValueError(f"{name}: expected a {'positive ' if name == 'spot' else ''}finite number, got {value!r}")
        values.append(v)
    return values[0], values[1], values[2]


def _check_tolerance(tolerance: float) -> float:
    if not (isinstance(tolerance, (int, float)) and 0.0 < tolerance < 1e-2):
        raise ValueError(f"tolerance: expected a number in (0, 0.01), got {tolerance!r}")
    return float(tolerance)


def _param_rows(param_array: Any, model: type) -> np.ndarray:
    if model not in MODEL_KINDS:
        raise ValueError(f"model: expected one of {[m.__name__ for m in MODEL_KINDS]}, got {model!r}")
    names = list(model.__dataclass_fields__)
    if isinstance(param_array, Sequence) and param_array and all(isinstance(p, model) for p in param_array):
        return np.array([p.as_tuple() for p in param_array], dtype=np.float64)
    rows = np.atleast_2d(_arrays.as_float_array(param_array, "param_array"))
    if rows.ndim != 2 or rows.shape[1] != len(names):
        raise ValueError(f"param_array: expected shape (n_sets, {len(names)}) with columns {names}, got {rows.shape}")
    for j, name in enumerate(names):
        ok, expected = DOMAIN[name]
        bad = np.flatnonzero(~(np.isfinite(rows[:, j]) & ok(rows[:, j])))
        if bad.size:
            raise ValueError(f"param_array[:, {j}] ({name}): expected {expected}; bad rows {bad[:5].tolist()}")
    return np.ascontiguousarray(rows)


def _prices(params: ModelParams, strikes, taus, spot, rate, dividend, side, threads, tolerance) -> np.ndarray:
    if type(params) not in MODEL_KINDS:
        raise ValueError(
            f"params: expected BlackScholesParams, HestonParams or BatesParams, got {type(params).__name__}")
    k, t = _grid(strikes, taus)
    s, r, q = _market(spot, rate, dividend)
    rows = np.array([params.as_tuple()], dtype=np.float64)
    out = _fourier_prices(MODEL_KINDS[type(params)], rows, k, t, s, r, q, side, _arrays.resolve_threads(threads),
                          _check_tolerance(tolerance))
    return out[0]


def call_prices(
    params: ModelParams,
    strikes: Any,
    taus: Any,
    *,
    spot: float = 1.0,
    rate: float = 0.0,
    dividend: float = 0.0,
    method: str = "fft",
    threads: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> np.ndarray:
    """Discounted European call prices on a maturity x strike grid.

    Parameters
    ----------
    params : BlackScholesParams, HestonParams or BatesParams
    strikes : array_like, 1-D
        Strikes in price units (same units as ``spot``), positive and finite.
    taus : array_like, 1-D
        Maturities in years, positive and finite.
    spot : float
        Spot price; the forward is ``spot * exp((rate - dividend) * tau)``.
    rate, dividend : float
        Continuously compounded annual interest rate and dividend yield.
    method : {"fft"}
        Carr–Madan with FFTW (the only engine so far).
    threads : int, optional
        OpenMP threads over maturities (default: OMP_NUM_THREADS or all cores).
    tolerance : float
        Target absolute error per unit of discounted forward (``exp(-q tau) * spot``). The default
        1e-10 is the issue's accuracy target; smaller values (down to ~1e-15) cost more time
        (1e-13: about 1.5-2x).

    Returns
    -------
    ndarray, shape (len(taus), len(strikes))
        Discounted call prices ``exp(-rate tau) E[(S_T - K)^+]``.

    Raises
    ------
    ValueError
        If a strike or maturity is not positive and finite, or an argument is malformed.
    """
    _check_method(method)
    return _prices(params, strikes, taus, spot, rate, dividend, OptionSide.CALL, threads, tolerance)


def put_prices(
    params: ModelParams,
    strikes: Any,
    taus: Any,
    *,
    spot: float = 1.0,
    rate: float = 0.0,
    dividend: float = 0.0,
    method: str = "fft",
    threads: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> np.ndarray:
    """Discounted European put prices ``exp(-rate tau) E[(K - S_T)^+]``; arguments as :func:`call_prices`."""
    _check_method(method)
    return _prices(params, strikes, taus, spot, rate, dividend, OptionSide.PUT, threads, tolerance)


def call_prices_batch(
    param_array: Any,
    strikes: Any,
    taus: Any,
    *,
    model: type = BatesParams,
    spot: float = 1.0,
    rate: float = 0.0,
    dividend: float = 0.0,
    method: str = "fft",
    threads: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> np.ndarray:
    """Discounted call prices for many parameter sets at once, in parallel over sets and maturities.

    Parameters
    ----------
    param_array : array_like of shape (n_sets, n_fields), or a sequence of ``model`` instances
        One row per parameter set, columns in the field order of ``model`` (e.g. Bates:
        v0, kappa, theta, sigma, rho, lam, beta, alpha). Every row is validated.
    model : type
        BlackScholesParams, HestonParams or BatesParams.
    strikes, taus, spot, rate, dividend, method, threads, tolerance
        As in :func:`call_prices`.

    Returns
    -------
    ndarray, shape (n_sets, len(taus), len(strikes))
    """
    _check_method(method)
    rows = _param_rows(param_array, model)
    k, t = _grid(strikes, taus)
    s, r, q = _market(spot, rate, dividend)
    return _fourier_prices(MODEL_KINDS[model], rows, k, t, s, r, q, OptionSide.CALL, _arrays.resolve_threads(threads),
                           _check_tolerance(tolerance))


def implied_vol_surface(
    params: ModelParams,
    strikes: Any,
    taus: Any,
    *,
    spot: float = 1.0,
    rate: float = 0.0,
    dividend: float = 0.0,
    method: str = "fft",
    threads: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    return_status: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Black implied volatilities of the model's prices on a maturity x strike grid.

    Each point is inverted from its out-of-the-money price (put below the forward, call at or
    above) with :func:`ivfast.implied_vol`. Where that price is below the pricer's absolute
    accuracy (``tolerance`` times the discounted forward) it carries no volatility information:
    the volatility is NaN with status ``BELOW_PRICE_ACCURACY``.

    Returns
    -------
    vol : ndarray, shape (len(taus), len(strikes))
        Annualised implied volatilities.
    status : ndarray of int8, only with ``return_status=True``
        :class:`ivfast.IVStatus` codes (``BELOW_PRICE_ACCURACY`` where the price is below the
        pricer's accuracy).
    """
    _check_method(method)
    otm = _prices(params, strikes, taus, spot, rate, dividend, OptionSide.OUT_OF_THE_MONEY, threads, tolerance)
    k, t = _grid(strikes, taus)
    s, r, q = _market(spot, rate, dividend)
    tt = t[:, None]
    fwd = s * np.exp((r - q) * tt)
    disc = np.exp(-r * tt)
    vol, status = implied_vol(otm, fwd, k[None, :], tt, is_call=k[None, :] >= fwd, discount=disc,
                              return_status=True, threads=threads)
    inaccurate = otm < tolerance * fwd * disc
    vol = np.where(inaccurate, np.nan, vol)
    status = np.where(inaccurate, np.int8(IVStatus.BELOW_PRICE_ACCURACY), status).astype(np.int8)
    return (vol, status) if return_status else vol


def _check_method(method: str) -> None:
    if method != "fft":
        raise ValueError(f"method: expected 'fft', got {method!r}")
