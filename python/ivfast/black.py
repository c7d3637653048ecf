"""Black-76 prices, vegas and Let's-Be-Rational implied volatilities on forwards.

Conventions
-----------
``forward`` F and ``strike`` K in price units, ``tau`` the year fraction to expiry, ``vol``
the annualised Black volatility, ``discount`` the discount factor D to the payment date.
Prices are *discounted*: ``price = D * Black(F, K, tau, vol)``. Log-moneyness is
``x = ln(F/K)``. All functions broadcast their array arguments with NumPy rules and compute
in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _arrays
from ._core import IVStatus
from ._core import black_price as _black_price
from ._core import black_vega as _black_vega
from ._core import implied_vol as _implied_vol

__all__ = ["IVStatus", "black_price", "black_vega", "implied_vol", "forward", "attainable_iv_accuracy"]


def _black_args(forward, strike, tau, vol, is_call, discount):
    arrays = {
        "forward": _arrays.as_float_array(forward, "forward"),
        "strike": _arrays.as_float_array(strike, "strike"),
        "tau": _arrays.as_float_array(tau, "tau"),
        "vol": _arrays.as_float_array(vol, "vol"),
        "is_call": _arrays.as_bool_array(is_call, "is_call").view(np.uint8),
        "discount": _arrays.as_float_array(discount, "discount"),
    }
    return _arrays.broadcast_flat(arrays)


def _shaped(out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | float:
    out = out.reshape(shape)
    return float(out) if shape == () else out


def _run_black(kernel, forward, strike, tau, vol, is_call, discount, threads) -> np.ndarray | float:
    shape, a = _black_args(forward, strike, tau, vol, is_call, discount)
    out = kernel(a["forward"], a["strike"], a["tau"], a["vol"], a["is_call"], a["discount"], int(np.prod(shape)),
                 _arrays.resolve_threads(threads))
    return _shaped(out, shape)


def black_price(
    forward: Any,
    strike: Any,
    tau: Any,
    vol: Any,
    *,
    is_call: Any = True,
    discount: Any = 1.0,
    threads: int | None = None,
) -> np.ndarray | float:
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
    discount : array_like, default 1.0
        Discount factor to the payment date, > 0.
    threads : int, optional
        OpenMP threads; default ``OMP_NUM_THREADS`` or all cores.

    Returns
    -------
    ndarray or float
        Prices with the broadcast shape of the inputs; NaN where an input is out of domain.
        Out-of-the-money prices keep full relative accuracy down to the underflow limit.
    """
    return _run_black(_black_price, forward, strike, tau, vol, is_call, discount, threads)


def black_vega(
    forward: Any,
    strike: Any,
    tau: Any,
    vol: Any,
    *,
    is_call: Any = True,
    discount: Any = 1.0,
    threads: int | None = None,
) -> np.ndarray | float:
    """Discounted Black-76 vega, dPrice/dvol per unit of volatility (not per vol point).

    Same parameters and broadcasting as :func:`black_price`; ``is_call`` is accepted for
    symmetry (vega is the same for calls and puts).
    """
    return _run_black(_black_vega, forward, strike, tau, vol, is_call, discount, threads)


def implied_vol(
    price: Any,
    forward: Any,
    strike: Any,
    tau: Any,
    *,
    is_call: Any = True,
    discount: Any = 1.0,
    return_status: bool = False,
    threads: int | None = None,
) -> np.ndarray | float | tuple[np.ndarray | float, np.ndarray | int]:
    """Implied Black-76 volatility by Jaeckel's "Let's Be Rational".

    The price is undiscounted (``price / discount``), reduced to its out-of-the-money member
    (intrinsic value removed, put-call symmetry), and inverted from a four-branch rational
    initial guess with two Householder(3) steps, using an erfcx-based normalised Black
    function so that deep out-of-the-money prices keep full relative accuracy. The result is
    accurate to a small multiple of the problem's own conditioning (see tests/test_implied_vol.py).

    Parameters
    ----------
    price : array_like
        Discounted option price.
    forward, strike, tau, is_call, discount, threads
        As in :func:`black_price`.
    return_status : bool, default False
        Also return an int8 array of :class:`IVStatus` codes.

    Returns
    -------
    vol : ndarray or float
        Annualised implied volatility. NaN where no volatility reproduces the price (below
        intrinsic, at or above the upper bound F or K after undiscounting) or an input is
        zero, negative or non-finite. A price exactly at a positive intrinsic value gives 0.
    status : ndarray of int8 or int, only with ``return_status=True``

    Raises
    ------
    ValueError
        If the arguments do not broadcast or cannot be converted to numbers.
    """
    arrays = {
        "price": _arrays.as_float_array(price, "price"),
        "forward": _arrays.as_float_array(forward, "forward"),
        "strike": _arrays.as_float_array(strike, "strike"),
        "tau": _arrays.as_float_array(tau, "tau"),
        "is_call": _arrays.as_bool_array(is_call, "is_call").view(np.uint8),
        "discount": _arrays.as_float_array(discount, "discount"),
    }
    shape, a = _arrays.broadcast_flat(arrays)
    n = int(np.prod(shape))
    vol, status = _implied_vol(a["price"], a["forward"], a["strike"], a["tau"], a["is_call"], a["discount"], n,
                               _arrays.resolve_threads(threads))
    vol = _shaped(vol, shape)
    if not return_status:
        return vol
    status = status.reshape(shape)
    return vol, (int(status) if shape == () else status)


def forward(spot: Any, tau: Any, rate: Any = 0.0, dividend: Any = 0.0) -> np.ndarray | float:
    """Forward price ``spot * exp((rate - dividend) * tau)`` under continuous compounding.

    ``rate`` and ``dividend`` are continuously compounded annual rates; ``tau`` in years.
    Broadcasts; NaN propagates.
    """
    s = _arrays.as_float_array(spot, "spot")
    t = _arrays.as_float_array(tau, "tau")
    r = _arrays.as_float_array(rate, "rate")
    q = _arrays.as_float_array(dividend, "dividend")
    try:
        out = s * np.exp((r - q) * t)
    except ValueError:
        raise ValueError(f"shapes do not broadcast: spot{s.shape}, tau{t.shape}, rate{r.shape}, dividend{q.shape}") from None
    return float(out) if out.ndim == 0 else out


def attainable_iv_accuracy(
    price: Any, forward: Any, strike: Any, tau: Any, vol: Any, *, is_call: Any = True, discount: Any = 1.0
) -> np.ndarray | float:
    """Relative accuracy of an implied volatility that the double-precision inputs allow.

    ``eps * (1 + cond + condx * (1 + |x|) / 2)`` with ``x = ln(F/K)``,
    ``cond = P / (vol * dP/dvol)`` the conditioning of the inversion in the price and
    ``condx = |dP_otm/dx| / (vol * dP/dvol)`` that in log-moneyness (``P_otm`` the
    out-of-the-money member): rounding the inputs to doubles alone moves the exact implied
    volatility by about this much. Values above ~1e-3 mean the price carries almost no
    volatility information (e.g. deep in the money, or a far out-of-the-money price near
    underflow). Arguments as in :func:`implied_vol`, plus the volatility ``vol`` at which to
    evaluate the conditioning.
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
