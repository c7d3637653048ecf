"""Black-76 prices, vegas and Let's-Be-Rational implied volatilities on forwards.

Conventions
-----------
``forward`` F and ``strike`` K in price units, ``tau`` the year fraction to expiry, ``vol``
the annualised Black volatility (0.01 is one vol point), ``discount`` the discount factor D to
the payment date. Prices are *discounted*: ``price = D * Black(F, K, tau, vol)``. Log-moneyness
is ``x = ln(F/K)`` here (the surfaces use ``k = ln(K/F) = -x``). ``is_call`` takes booleans
(True for calls) or the strings ``'call'``/``'put'``/``'c'``/``'p'``. All functions broadcast
their array arguments with NumPy rules, compute in float64, and return a float for scalar
inputs and an array of the broadcast shape otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Union, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _arrays
from ._core import IVStatus
from ._core import black_price as _black_price
from ._core import black_vega as _black_vega
from ._core import implied_vol as _implied_vol

__all__ = ["IVStatus", "black_price", "black_vega", "implied_vol", "forward", "attainable_iv_accuracy"]

FloatOrArray = Union[NDArray[np.float64], float]
"""A float for scalar inputs, else a float64 array of the broadcast shape."""
StatusOrArray = Union[NDArray[np.int8], int]
"""An :class:`IVStatus` code for scalar inputs, else an int8 array of them."""

_Kernel = Callable[[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                    NDArray[np.uint8], NDArray[np.float64], int, int], NDArray[np.float64]]


def _black_args(forward: ArrayLike, strike: ArrayLike, tau: ArrayLike, vol: ArrayLike, is_call: ArrayLike,
                discount: ArrayLike) -> tuple[tuple[int, ...], dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {
        "forward": _arrays.as_float_array(forward, "forward"),
        "strike": _arrays.as_float_array(strike, "strike"),
        "tau": _arrays.as_float_array(tau, "tau"),
        "vol": _arrays.as_float_array(vol, "vol"),
        "is_call": _arrays.as_bool_array(is_call, "is_call").view(np.uint8),
        "discount": _arrays.as_float_array(discount, "discount"),
    }
    return _arrays.broadcast_flat(arrays)


def _shaped(out: NDArray[np.float64], shape: tuple[int, ...]) -> FloatOrArray:
    out = out.reshape(shape)
    return float(out) if shape == () else out


def _run_black(kernel: _Kernel, forward: ArrayLike, strike: ArrayLike, tau: ArrayLike, vol: ArrayLike,
               is_call: ArrayLike, discount: ArrayLike, threads: int | None) -> FloatOrArray:
    shape, a = _black_args(forward, strike, tau, vol, is_call, discount)
    out = kernel(a["forward"], a["strike"], a["tau"], a["vol"], a["is_call"], a["discount"], int(np.prod(shape)),
                 _arrays.resolve_threads(threads))
    return _shaped(out, shape)


def black_price(
    forward: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    vol: ArrayLike,
    *,
    is_call: ArrayLike = True,
    discount: ArrayLike = 1.0,
    threads: int | None = None,
) -> FloatOrArray:
    """Discounted Black-76 option price.

    Parameters
    ----------
    forward, strike : array_like
        Forward and strike, same price units, > 0.
    tau : array_like
        Time to expiry in years, > 0.
    vol : array_like
        Annualised Black volatility, >= 0 (0 gives the discounted intrinsic value).
    is_call : array_like of bool or {'call', 'put', 'c', 'p'}, default True
        Option type per element (True for calls).
    discount : array_like, default 1.0
        Discount factor to the payment date, > 0.
    threads : int, optional
        OpenMP threads; default ``OMP_NUM_THREADS`` or all cores.

    Returns
    -------
    ndarray or float
        Prices with the broadcast shape of the inputs; NaN where an input is out of domain.
        Out-of-the-money prices keep full relative accuracy down to the underflow limit.

    Raises
    ------
    ValueError
        If the arguments do not broadcast, cannot be converted to numbers, ``is_call`` is not
        a call/put flag or ``threads`` is not a positive integer.
    """
    return _run_black(_black_price, forward, strike, tau, vol, is_call, discount, threads)


def black_vega(
    forward: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    vol: ArrayLike,
    *,
    is_call: ArrayLike = True,
    discount: ArrayLike = 1.0,
    threads: int | None = None,
) -> FloatOrArray:
    """Discounted Black-76 vega, dPrice/dvol per unit of volatility (not per vol point).

    Parameters
    ----------
    forward, strike, tau, vol, is_call, discount, threads
        As in :func:`black_price`; ``is_call`` is accepted for symmetry, vega is the same for
        calls and puts.

    Returns
    -------
    ndarray or float
        ``D F phi(d1) sqrt(tau)`` with the broadcast shape of the inputs; divide by 100 for the
        change per vol point. NaN where an input is out of domain.

    Raises
    ------
    ValueError
        As for :func:`black_price`.
    """
    return _run_black(_black_vega, forward, strike, tau, vol, is_call, discount, threads)


@overload
def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    *,
    is_call: ArrayLike = ...,
    discount: ArrayLike = ...,
    return_status: Literal[False] = ...,
    threads: int | None = ...,
) -> FloatOrArray: ...


@overload
def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    *,
    is_call: ArrayLike = ...,
    discount: ArrayLike = ...,
    return_status: Literal[True],
    threads: int | None = ...,
) -> tuple[FloatOrArray, StatusOrArray]: ...


@overload
def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    *,
    is_call: ArrayLike = ...,
    discount: ArrayLike = ...,
    return_status: bool,
    threads: int | None = ...,
) -> FloatOrArray | tuple[FloatOrArray, StatusOrArray]: ...


def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    *,
    is_call: ArrayLike = True,
    discount: ArrayLike = 1.0,
    return_status: bool = False,
    threads: int | None = None,
) -> FloatOrArray | tuple[FloatOrArray, StatusOrArray]:
    """Implied Black-76 volatility by Jaeckel's "Let's Be Rational".

    The price is undiscounted (``price / discount``), reduced to its out-of-the-money member
    (intrinsic value removed, put-call symmetry), and inverted from a four-branch rational
    initial guess with two Householder(3) steps, using an erfcx-based normalised Black
    function so that deep out-of-the-money prices keep full relative accuracy. The result is
    accurate to a small multiple of the problem's own conditioning
    (:func:`attainable_iv_accuracy`).

    Parameters
    ----------
    price : array_like
        Discounted option price.
    forward, strike, tau, is_call, discount, threads
        As in :func:`black_price`.
    return_status : bool, default False
        Also return the :class:`IVStatus` codes.

    Returns
    -------
    vol : ndarray or float
        Annualised implied volatility. NaN where no volatility reproduces the price (below
        intrinsic, at or above the upper bound F or K after undiscounting) or an input is
        zero, negative or non-finite. A price exactly at a positive intrinsic value gives 0.
    status : ndarray of int8 or int
        Only with ``return_status=True``: the :class:`IVStatus` code of each element.

    Raises
    ------
    ValueError
        If the arguments do not broadcast or cannot be converted to numbers.
    """
    arrays: dict[str, np.ndarray] = {
        "price": _arrays.as_float_array(price, "price"),
        "forward": _arrays.as_float_array(forward, "forward"),
        "strike": _arrays.as_float_array(strike, "strike"),
        "tau": _arrays.as_float_array(tau, "tau"),
        "is_call": _arrays.as_bool_array(is_call, "is_call").view(np.uint8),
        "discount": _arrays.as_float_array(discount, "discount"),
    }
    shape, a = _arrays.broadcast_flat(arrays)
    n = int(np.prod(shape))
    flat_vol, flat_status = _implied_vol(a["price"], a["forward"], a["strike"], a["tau"], a["is_call"],
                                         a["discount"], n, _arrays.resolve_threads(threads))
    vol = _shaped(flat_vol, shape)
    if not return_status:
        return vol
    status = flat_status.reshape(shape)
    return vol, (int(status) if shape == () else status)


def forward(spot: ArrayLike, tau: ArrayLike, rate: ArrayLike = 0.0, dividend: ArrayLike = 0.0) -> FloatOrArray:
    """Forward price ``spot * exp((rate - dividend) * tau)`` under continuous compounding.

    Parameters
    ----------
    spot : array_like
        Spot price.
    tau : array_like
        Time to expiry in years.
    rate, dividend : array_like, default 0.0
        Continuously compounded annual interest rate and dividend yield.

    Returns
    -------
    ndarray or float
        Forwards with the broadcast shape of the inputs; NaN propagates.

    Raises
    ------
    ValueError
        If the arguments do not broadcast or cannot be converted to numbers.
    """
    s = _arrays.as_float_array(spot, "spot")
    t = _arrays.as_float_array(tau, "tau")
    r = _arrays.as_float_array(rate, "rate")
    q = _arrays.as_float_array(dividend, "dividend")
    try:
        out = s * np.exp((r - q) * t)
    except ValueError:
        raise ValueError(
            f"shapes do not broadcast: spot{s.shape}, tau{t.shape}, rate{r.shape}, dividend{q.shape}") from None
    return float(out) if out.ndim == 0 else out


def attainable_iv_accuracy(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    vol: ArrayLike,
    *,
    is_call: ArrayLike = True,
    discount: ArrayLike = 1.0,
) -> FloatOrArray:
    """Relative accuracy of an implied volatility that the double-precision inputs allow.

    ``eps * (1 + cond + condx * (1 + |x|) / 2)`` with ``x = ln(F/K)``,
    ``cond = P / (vol * dP/dvol)`` the conditioning of the inversion in the price and
    ``condx = |dP_otm/dx| / (vol * dP/dvol)`` that in log-moneyness (``P_otm`` the
    out-of-the-money member): rounding the inputs to doubles alone moves the exact implied
    volatility by about this much. Values above ~1e-3 mean the price carries almost no
    volatility information (e.g. deep in the money, or a far out-of-the-money price near
    underflow).

    Parameters
    ----------
    price, forward, strike, tau, discount
        As in :func:`implied_vol`.
    vol : array_like
        Annualised volatility at which to evaluate the conditioning (usually the implied one).
    is_call : array_like of bool or {'call', 'put', 'c', 'p'}, default True
        Accepted for symmetry with :func:`implied_vol`; unused (``cond`` takes the price as
        given, ``condx`` the out-of-the-money member at ``vol``).

    Returns
    -------
    ndarray or float
        Relative accuracy (dimensionless) with the broadcast shape of the inputs.
    """
    from scipy.special import ndtr

    f = _arrays.as_float_array(forward, "forward")
    k = _arrays.as_float_array(strike, "strike")
    t = _arrays.as_float_array(tau, "tau")
    v = _arrays.as_float_array(vol, "vol")
    d = _arrays.as_float_array(discount, "discount")
    undiscounted = _arrays.as_float_array(price, "price") / d
    vega = np.asarray(black_vega(f, k, t, v)) * v
    x = np.log(f / k)
    s = v * np.sqrt(t)
    d2 = x / s - s / 2
    # With F fixed, d P_otm / dx = K Phi(d2) for the call member (x < 0), K Phi(-d2) for the put.
    dpdx = np.where(x < 0, k * ndtr(d2), k * ndtr(-d2))
    out = np.finfo(float).eps * (1.0 + undiscounted / vega + dpdx / vega * (1.0 + np.abs(x)) / 2.0)
    return float(out) if out.ndim == 0 else out
