"""European option prices under Black–Scholes, Heston and Bates by Fourier inversion (C++/FFTW).

Prices come from Carr–Madan's damped Fourier integral, one FFT per maturity and wing (puts below
the forward, calls above, so that small out-of-the-money prices keep their relative accuracy),
with the damping, grid spacing, truncation and FFT length chosen per maturity from the
characteristic function so that every price meets an absolute error target (``tolerance`` times
the discounted forward). The characteristic functions are evaluated in the "little Heston trap"
form, which has no branch-cut jumps at long maturities.

Conventions: ``strikes`` in the price units of ``spot``, ``taus`` in years, ``rate`` and
``dividend`` continuously compounded annual rates, so the forward is
``F = spot * exp((rate - dividend) * tau)`` and the discount factor ``D = exp(-rate * tau)``.
Prices are *discounted*; grids are maturity-major, shape ``(len(taus), len(strikes))``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Literal, cast, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _arrays
from ._core import OptionSide
from ._core import fourier_prices as _fourier_prices
from .black import IVStatus, implied_vol
from .models import DOMAIN, MODEL_KINDS, BatesParams, ModelParams

__all__ = ["call_prices", "put_prices", "call_prices_batch", "implied_vol_surface"]

DEFAULT_TOLERANCE = 1e-10


def _grid(strikes: ArrayLike, taus: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
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


def _param_rows(param_array: ArrayLike | Sequence[ModelParams], model: type[ModelParams]) -> NDArray[np.float64]:
    if model not in MODEL_KINDS:
        raise ValueError(f"model: expected one of {[m.__name__ for m in MODEL_KINDS]}, got {model!r}")
    names = [f.name for f in fields(model)]
    if isinstance(param_array, Sequence) and param_array:
        sets = [p for p in param_array if isinstance(p, model)]
        if len(sets) == len(param_array):
            return np.array([p.as_tuple() for p in sets], dtype=np.float64)
    # Anything else must be numbers; the conversion names param_array when it is not.
    rows = np.atleast_2d(_arrays.as_float_array(cast("ArrayLike", param_array), "param_array"))
    if rows.ndim != 2 or rows.shape[1] != len(names):
        raise ValueError(f"param_array: expected shape (n_sets, {len(names)}) with columns {names}, got {rows.shape}")
    for j, name in enumerate(names):
        ok, expected = DOMAIN[name]
        bad = np.flatnonzero(~(np.isfinite(rows[:, j]) & ok(rows[:, j])))
        if bad.size:
            raise ValueError(f"param_array[:, {j}] ({name}): expected {expected}; bad rows {bad[:5].tolist()}")
    return np.ascontiguousarray(rows)


def _prices(params: ModelParams, strikes: ArrayLike, taus: ArrayLike, spot: float, rate: float, dividend: float,
            side: OptionSide, threads: int | None, tolerance: float) -> NDArray[np.float64]:
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
    strikes: ArrayLike,
    taus: ArrayLike,
    *,
    spot: float = 1.0,
    rate: float = 0.0,
    dividend: float = 0.0,
    method: str = "fft",
    threads: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> NDArray[np.float64]:
    """Discounted European call prices on a maturity x strike grid.

    Parameters
    ----------
    params : BlackScholesParams, HestonParams or BatesParams
        The model and its parameters.
    strikes : array_like, 1-D
        Strikes in price units (same units as ``spot``), positive and finite.
    taus : array_like, 1-D
        Maturities in years, positive and finite.
    spot : float, default 1.0
        Spot price; the forward is ``spot * exp((rate - dividend) * tau)``.
    rate, dividend : float, default 0.0
        Continuously compounded annual interest rate and dividend yield.
    method : {"fft"}
        Carr–Madan with FFTW (the only engine).
    threads : int, optional
        OpenMP threads over maturities (default: OMP_NUM_THREADS or all cores).
    tolerance : float, default 1e-10
        Target absolute error per unit of discounted forward (``exp(-q tau) * spot``), in
        (0, 0.01). Smaller values (down to ~1e-15) take longer (timings in bench/README.md).

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
    strikes: ArrayLike,
    taus: ArrayLike,
    *,
    spot: float = 1.0,
    rate: float = 0.0,
    dividend: float = 0.0,
    method: str = "fft",
    threads: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> NDArray[np.float64]:
    """Discounted European put prices on a maturity x strike grid.

    Parameters
    ----------
    params, strikes, taus, spot, rate, dividend, method, threads, tolerance : as in :func:`call_prices`

    Returns
    -------
    ndarray, shape (len(taus), len(strikes))
        Discounted put prices ``exp(-rate tau) E[(K - S_T)^+]``.

    Raises
    ------
    ValueError
        As for :func:`call_prices`.
    """
    _check_method(method)
    return _prices(params, strikes, taus, spot, rate, dividend, OptionSide.PUT, threads, tolerance)


def call_prices_batch(
    param_array: ArrayLike | Sequence[ModelParams],
    strikes: ArrayLike,
    taus: ArrayLike,
    *,
    model: type[ModelParams] = BatesParams,
    spot: float = 1.0,
    rate: float = 0.0,
    dividend: float = 0.0,
    method: str = "fft",
    threads: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> NDArray[np.float64]:
    """Discounted call prices for many parameter sets at once, in parallel over sets and maturities.

    Parameters
    ----------
    param_array : array_like of shape (n_sets, n_fields), or a sequence of ``model`` instances
        One row per parameter set, columns in the field order of ``model`` (e.g. Bates:
        v0, kappa, theta, sigma, rho, lam, beta, alpha). Every row is validated.
    strikes, taus, spot, rate, dividend, method, threads, tolerance
        As in :func:`call_prices`.
    model : type, default BatesParams
        BlackScholesParams, HestonParams or BatesParams.

    Returns
    -------
    ndarray, shape (n_sets, len(taus), len(strikes))
        Discounted call prices, one grid per parameter set.

    Raises
    ------
    ValueError
        If ``model`` is not one of the three classes, a row is outside the model's domain (the
        message names the field and the first bad rows), or another argument is malformed.
    """
    _check_method(method)
    rows = _param_rows(param_array, model)
    k, t = _grid(strikes, taus)
    s, r, q = _market(spot, rate, dividend)
    return _fourier_prices(MODEL_KINDS[model], rows, k, t, s, r, q, OptionSide.CALL, _arrays.resolve_threads(threads),
                           _check_tolerance(tolerance))


@overload
def implied_vol_surface(
    params: ModelParams,
    strikes: ArrayLike,
    taus: ArrayLike,
    *,
    spot: float = ...,
    rate: float = ...,
    dividend: float = ...,
    method: str = ...,
    threads: int | None = ...,
    tolerance: float = ...,
    return_status: Literal[False] = ...,
) -> NDArray[np.float64]: ...


@overload
def implied_vol_surface(
    params: ModelParams,
    strikes: ArrayLike,
    taus: ArrayLike,
    *,
    spot: float = ...,
    rate: float = ...,
    dividend: float = ...,
    method: str = ...,
    threads: int | None = ...,
    tolerance: float = ...,
    return_status: Literal[True],
) -> tuple[NDArray[np.float64], NDArray[np.int8]]: ...


@overload
def implied_vol_surface(
    params: ModelParams,
    strikes: ArrayLike,
    taus: ArrayLike,
    *,
    spot: float = ...,
    rate: float = ...,
    dividend: float = ...,
    method: str = ...,
    threads: int | None = ...,
    tolerance: float = ...,
    return_status: bool,
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.int8]]: ...


def implied_vol_surface(
    params: ModelParams,
    strikes: ArrayLike,
    taus: ArrayLike,
    *,
    spot: float = 1.0,
    rate: float = 0.0,
    dividend: float = 0.0,
    method: str = "fft",
    threads: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    return_status: bool = False,
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Black implied volatilities of the model's prices on a maturity x strike grid.

    Each point is inverted from its out-of-the-money price (put below the forward, call at or
    above) with :func:`ivfast.implied_vol`. Where that price is below the pricer's absolute
    accuracy (``tolerance`` times the discounted forward) it carries no volatility information:
    the volatility is NaN with status ``BELOW_PRICE_ACCURACY``.

    Parameters
    ----------
    params, strikes, taus, spot, rate, dividend, method, threads, tolerance
        As in :func:`call_prices`.
    return_status : bool, default False
        Also return the :class:`ivfast.IVStatus` codes.

    Returns
    -------
    vol : ndarray, shape (len(taus), len(strikes))
        Annualised implied volatilities (0.01 is one vol point).
    status : ndarray of int8
        Only with ``return_status=True``: :class:`ivfast.IVStatus` codes
        (``BELOW_PRICE_ACCURACY`` where the price is below the pricer's accuracy).

    Raises
    ------
    ValueError
        As for :func:`call_prices`.
    """
    _check_method(method)
    otm = _prices(params, strikes, taus, spot, rate, dividend, OptionSide.OUT_OF_THE_MONEY, threads, tolerance)
    k, t = _grid(strikes, taus)
    s, r, q = _market(spot, rate, dividend)
    tt = t[:, None]
    fwd = s * np.exp((r - q) * tt)
    disc = np.exp(-r * tt)
    raw_vol, raw_status = implied_vol(otm, fwd, k[None, :], tt, is_call=k[None, :] >= fwd, discount=disc,
                                      return_status=True, threads=threads)
    inaccurate = otm < tolerance * fwd * disc
    vol = np.where(inaccurate, np.nan, raw_vol)
    status = np.where(inaccurate, np.int8(IVStatus.BELOW_PRICE_ACCURACY), raw_status).astype(np.int8)
    return (vol, status) if return_status else vol


def _check_method(method: str) -> None:
    if method != "fft":
        raise ValueError(f"method: expected 'fft', got {method!r}")
