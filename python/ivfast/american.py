"""American vanilla prices and implied volatilities with discrete cash dividends.

Conventions
-----------
``spot`` and ``strike`` in price units, ``tau`` the year fraction to expiry, ``vol`` the
annualised Black-Scholes volatility of the spot between ex-dates. ``rate`` is a continuously
compounded zero rate to each option's expiry (held flat over its life) or a :class:`ZeroCurve`
shared by all options; ``dividend_yield`` a continuous yield (indices); ``dividends`` a table of
``(ex-time in years, cash amount)`` rows shared by all options, in the *spot model*: the spot
drops by the amount on the ex-date (floored at 0) and follows geometric Brownian motion in
between. Dividends at times ``<= 0`` or ``>= tau`` do not affect an option. Every function
broadcasts its array arguments with NumPy rules, computes in float64 and returns a float for
scalar inputs, an array of the broadcast shape otherwise.

Method
------
Finite differences in log-spot (Crank-Nicolson with Rannacher start-up on a sinh grid
concentrated at the strike, the early-exercise problem solved exactly per step by the
Brennan-Schwartz algorithm, dividends as jump conditions, Richardson extrapolation over two
grids); the implied volatility by a safeguarded secant on that pricer started from the European
volatility on the dividend-adjusted forward. Sources are cited in ``cpp/include/ivfast/american.hpp``.
With the default ``grid`` prices agree with converged references to about 1e-6 of the price
(of ``1e-3 * strike`` for cheap options).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _arrays
from ._core import american_implied_vol as _american_implied_vol
from ._core import american_price as _american_price

__all__ = ["ZeroCurve", "american_price", "american_implied_vol", "dividend_table", "spot_model_forward"]

FloatOrArray = Union[NDArray[np.float64], float]
StatusOrArray = Union[NDArray[np.int8], int]

DEFAULT_GRID = (320, 100)
"""(log-spot intervals, time steps) of the coarser Richardson grid; the finer one doubles both."""


@dataclass(frozen=True)
class ZeroCurve:
    """Continuously compounded zero rates, linear in time between pillars and flat beyond them.

    Parameters
    ----------
    times : array_like
        Pillar times in years: finite, positive, increasing.
    zero_rates : array_like
        Zero rate at each pillar (``discount(t) = exp(-z(t) t)``).
    """

    times: NDArray[np.float64]
    zero_rates: NDArray[np.float64]

    def __init__(self, times: ArrayLike, zero_rates: ArrayLike) -> None:
        t = _arrays.as_float_array(times, "times").reshape(-1)
        z = _arrays.as_float_array(zero_rates, "zero_rates").reshape(-1)
        if t.size == 0 or t.size != z.size:
            raise ValueError(f"zero_rates: expected as many rates as times (>= 1), got {z.size} and {t.size}")
        if not (np.isfinite(t).all() and (t > 0).all() and (np.diff(t) > 0).all()):
            raise ValueError("times: expected finite, positive, increasing pillar times")
        if not np.isfinite(z).all():
            raise ValueError("zero_rates: expected finite rates")
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "zero_rates", z)

    def log_discount(self, t: ArrayLike) -> NDArray[np.float64]:
        """``-ln discount(t) = z(t) t``.

        Parameters
        ----------
        t : array_like
            Times in years.

        Returns
        -------
        ndarray
            ``z(t) * t`` with the shape of ``t``.
        """
        tt = np.asarray(t, dtype=np.float64)
        return np.interp(tt, self.times, self.zero_rates) * tt


def dividend_table(dividends: ArrayLike | None) -> NDArray[np.float64]:
    """Validate a cash-dividend table into an ``(m, 2)`` float64 array of (time, amount) rows.

    Parameters
    ----------
    dividends : array_like or None
        Rows of ``(ex-time in years, cash amount)``; None or an empty table for none.

    Returns
    -------
    ndarray
        The ``(m, 2)`` table, ``m >= 0``.

    Raises
    ------
    ValueError
        Unless the table has two columns, finite times and finite, non-negative amounts.
    """
    if dividends is None:
        return np.zeros((0, 2))
    table = _arrays.as_float_array(dividends, "dividends")
    if table.size == 0:
        return np.zeros((0, 2))
    if table.ndim != 2 or table.shape[1] != 2:
        raise ValueError(f"dividends: expected rows of (time, cash amount), shape (m, 2); got {table.shape}")
    if not np.isfinite(table).all() or (table[:, 1] < 0).any():
        raise ValueError("dividends: expected finite times and finite, non-negative cash amounts")
    return np.ascontiguousarray(table)


def _grid(grid: tuple[int, int]) -> tuple[int, int]:
    try:
        space, time = (int(g) for g in grid)
    except (TypeError, ValueError):
        raise ValueError(f"grid: expected (space_nodes, time_steps) integers, got {grid!r}") from None
    if space < 8 or time < 4:
        raise ValueError(f"grid: expected space_nodes >= 8 and time_steps >= 4, got {grid!r}")
    return space, time


def _kernel_inputs(named: dict[str, ArrayLike], rate: ArrayLike | ZeroCurve, dividend_yield: ArrayLike,
                   is_call: ArrayLike, dividends: ArrayLike | None, grid: tuple[int, int],
                   threads: int | None) -> tuple[tuple[int, ...], dict[str, np.ndarray], tuple[Any, ...]]:
    """Checked, broadcast flat arrays and the trailing kernel arguments (curve, dividends, n, threads, grid)."""
    if isinstance(rate, ZeroCurve):
        curve_t, curve_z, flat = rate.times, rate.zero_rates, np.zeros(())
    else:
        curve_t, curve_z, flat = np.zeros(0), np.zeros(0), _arrays.as_float_array(rate, "rate")
    table = dividend_table(dividends)
    space, time = _grid(grid)
    arrays = {name: _arrays.as_float_array(value, name) for name, value in named.items()}
    arrays.update(rate=flat, dividend_yield=_arrays.as_float_array(dividend_yield, "dividend_yield"),
                  is_call=_arrays.as_bool_array(is_call, "is_call").view(np.uint8))
    shape, a = _arrays.broadcast_flat(arrays)
    market = (curve_t, curve_z, table.reshape(-1), int(np.prod(shape)), _arrays.resolve_threads(threads), space, time,
              True)
    return shape, a, market


def _shaped(out: np.ndarray, shape: tuple[int, ...]) -> FloatOrArray:
    out = out.reshape(shape)
    return float(out) if shape == () else out


def spot_model_forward(
    spot: ArrayLike, tau: ArrayLike, *, rate: ArrayLike | ZeroCurve, dividend_yield: ArrayLike = 0.0,
    dividends: ArrayLike | None = None,
) -> tuple[FloatOrArray, FloatOrArray]:
    """Forward and discount factor of the spot model to each expiry.

    ``F = S G(tau) - sum_i D_i G(tau) / G(t_i)`` over ``0 < t_i < tau``, with the growth
    factor ``G(t) = exp(z(t) t - q t)``; ``discount = exp(-z(tau) tau)``.

    Parameters
    ----------
    spot, tau, rate, dividend_yield, dividends
        As in :func:`american_price`.

    Returns
    -------
    forward : ndarray or float
        Forward price in spot units.
    discount : ndarray or float
        Discount factor to expiry.
    """
    table = dividend_table(dividends)
    s = _arrays.as_float_array(spot, "spot")
    t = _arrays.as_float_array(tau, "tau")
    q = _arrays.as_float_array(dividend_yield, "dividend_yield")
    if isinstance(rate, ZeroCurve):
        def log_df(x: np.ndarray) -> np.ndarray:
            return rate.log_discount(x)
    else:
        r = _arrays.as_float_array(rate, "rate")

        def log_df(x: np.ndarray) -> np.ndarray:
            return r * x
    try:
        log_growth = log_df(t) - q * t
        fwd = s * np.exp(log_growth)
        for ex_time, amount in table:
            live = (ex_time > 0) & (ex_time < t)
            fwd = fwd - np.where(live, amount * np.exp(log_growth - (log_df(np.asarray(ex_time)) - q * ex_time)), 0.0)
        df = np.exp(-log_df(t)) * np.ones_like(fwd)
    except ValueError:
        raise ValueError(f"shapes do not broadcast: spot{s.shape}, tau{t.shape}, dividend_yield{q.shape}") from None
    if fwd.ndim == 0:
        return float(fwd), float(df)
    return fwd, df


def american_price(
    spot: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    vol: ArrayLike,
    *,
    rate: ArrayLike | ZeroCurve,
    dividend_yield: ArrayLike = 0.0,
    dividends: ArrayLike | None = None,
    is_call: ArrayLike = True,
    threads: int | None = None,
    grid: tuple[int, int] = DEFAULT_GRID,
) -> FloatOrArray:
    """American option price by finite differences (see the module notes for the method).

    Parameters
    ----------
    spot, strike : array_like
        Spot and strike, > 0.
    tau : array_like
        Time to expiry in years, > 0.
    vol : array_like
        Annualised volatility, > 0.
    rate : array_like or ZeroCurve
        Zero rate to each expiry (flat over the option's life), or one curve for all options.
    dividend_yield : array_like, default 0.0
        Continuous dividend yield.
    dividends : array_like, optional
        ``(m, 2)`` table of (ex-time in years, cash amount), shared by all options.
    is_call : array_like of bool or {'call', 'put', 'c', 'p'}, default True
        Option type per element.
    threads : int, optional
        OpenMP threads; default ``OMP_NUM_THREADS`` or all cores.
    grid : (int, int), default (320, 100)
        Log-spot intervals and time steps of the coarser of the two extrapolated grids; the cost
        grows with their product, the error falls about with its square.

    Returns
    -------
    ndarray or float
        Prices with the broadcast shape; NaN where an input is non-positive or not finite.

    Raises
    ------
    ValueError
        If the arguments do not broadcast or are not numbers, ``is_call`` is no call/put flag, the
        dividend table, the curve, ``grid`` or ``threads`` is malformed.
    """
    shape, a, market = _kernel_inputs({"spot": spot, "strike": strike, "tau": tau, "vol": vol}, rate, dividend_yield,
                                      is_call, dividends, grid, threads)
    out = _american_price(a["spot"], a["strike"], a["tau"], a["vol"], a["rate"], a["dividend_yield"], a["is_call"],
                          *market)
    return _shaped(out, shape)


@overload
def american_implied_vol(
    price: ArrayLike, spot: ArrayLike, strike: ArrayLike, tau: ArrayLike, *, rate: ArrayLike | ZeroCurve,
    dividend_yield: ArrayLike = ..., dividends: ArrayLike | None = ..., is_call: ArrayLike = ...,
    return_status: Literal[False] = ..., threads: int | None = ..., grid: tuple[int, int] = ...,
) -> FloatOrArray: ...


@overload
def american_implied_vol(
    price: ArrayLike, spot: ArrayLike, strike: ArrayLike, tau: ArrayLike, *, rate: ArrayLike | ZeroCurve,
    dividend_yield: ArrayLike = ..., dividends: ArrayLike | None = ..., is_call: ArrayLike = ...,
    return_status: Literal[True], threads: int | None = ..., grid: tuple[int, int] = ...,
) -> tuple[FloatOrArray, StatusOrArray]: ...


@overload
def american_implied_vol(
    price: ArrayLike, spot: ArrayLike, strike: ArrayLike, tau: ArrayLike, *, rate: ArrayLike | ZeroCurve,
    dividend_yield: ArrayLike = ..., dividends: ArrayLike | None = ..., is_call: ArrayLike = ...,
    return_status: bool, threads: int | None = ..., grid: tuple[int, int] = ...,
) -> FloatOrArray | tuple[FloatOrArray, StatusOrArray]: ...


def american_implied_vol(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    *,
    rate: ArrayLike | ZeroCurve,
    dividend_yield: ArrayLike = 0.0,
    dividends: ArrayLike | None = None,
    is_call: ArrayLike = True,
    return_status: bool = False,
    threads: int | None = None,
    grid: tuple[int, int] = DEFAULT_GRID,
) -> FloatOrArray | tuple[FloatOrArray, StatusOrArray]:
    """Implied volatility of American option prices under :func:`american_price`.

    A secant iteration on the pricer from the European volatility of the price on the
    spot model's forward, with a bracket kept and bisection whenever a step leaves it; it stops
    when the bracket is narrower than 1e-9 of the volatility, searching volatilities in
    [1e-4, 10]. The result reproduces the price to the pricer's accuracy.

    Parameters
    ----------
    price : array_like
        American option price.
    spot, strike, tau, rate, dividend_yield, dividends, is_call, threads, grid
        As in :func:`american_price`.
    return_status : bool, default False
        Also return the :class:`IVStatus` codes.

    Returns
    -------
    vol : ndarray or float
        Implied volatility; NaN where the status is not ``OK``: ``BELOW_INTRINSIC`` (below the
        exercise value, or below the zero-volatility value of an out-of-the-money option),
        ``EARLY_EXERCISE`` (at the exercise value, which a whole range of volatilities give),
        ``BELOW_PRICE_ACCURACY`` (time value below 1e-9 of the strike, the pricer's absolute accuracy),
        ``ABOVE_UPPER_BOUND`` (at or above the spot for calls, the strike for puts, or above the
        price at volatility 10), ``INVALID_INPUT`` (non-positive or non-finite inputs),
        ``NO_CONVERGENCE``.
    status : ndarray of int8 or int
        Only with ``return_status=True``: the :class:`IVStatus` code of each element.

    Raises
    ------
    ValueError
        As for :func:`american_price`.
    """
    shape, a, market = _kernel_inputs({"price": price, "spot": spot, "strike": strike, "tau": tau}, rate,
                                      dividend_yield, is_call, dividends, grid, threads)
    flat_vol, flat_status = _american_implied_vol(a["price"], a["spot"], a["strike"], a["tau"], a["rate"],
                                                  a["dividend_yield"], a["is_call"], *market)
    vol = _shaped(flat_vol, shape)
    if not return_status:
        return vol
    status = flat_status.reshape(shape)
    return vol, (int(status) if shape == () else status)
