"""The most quotes of an expiry that any arbitrage-free smile fits inside their bid-ask.

A fitted surface that misses a quote's bid-ask interval either fits badly or meets a quote that
no arbitrage-free surface can reach (a stale bid above a neighbour's ask, a crossed butterfly).
:func:`consistent_quotes` separates the two: it finds the largest set of one expiry's quotes
that a single call-price curve passes inside, among curves with no vertical-spread or butterfly
arbitrage and inside the model-free price bounds (Carr & Madan 2005; Cohen, Reisinger & Wang 2020
repair such quotes by a minimal price change, this asks for the fewest quotes to give up). On
the quoted strikes these conditions are linear in the prices, so the problem is a mixed-integer
linear programme: one price per strike, one binary "inside" per quote, solved exactly by HiGHS
(:func:`scipy.optimize.milp`). The piecewise-linear interpolant of the optimal prices is an
arbitrage-free curve through them, so the share is attained, and no arbitrage-free surface does
better at that expiry (smoothness and calendar conditions can only lower it).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from ..black import black_price

__all__ = ["QuoteConsistency", "consistent_quotes", "attainable_inside"]

_TOL = 1e-7
"""A quote counts as reached when the curve is within this fraction of D F of its interval: the
programme is solved on prices in units of D F, where HiGHS's feasibility tolerance is 1e-7
(about $0.0007 on a 7,000 index, a hundredth of a tick)."""


@dataclass(frozen=True)
class QuoteConsistency:
    """The largest set of one expiry's quotes that an arbitrage-free call-price curve passes inside.

    Attributes
    ----------
    consistent : ndarray of bool
        Per quote (input order): inside its interval on the optimal curve.
    share : float
        ``consistent.mean()``: the best share of quotes inside bid-ask that any surface free of
        static arbitrage can reach at this expiry.
    optimal : bool
        False when the solver stopped at its time limit: ``share`` is then attained but may not
        be the largest.
    call_price : ndarray
        The optimal discounted call prices at the quotes' strikes.
    """

    consistent: NDArray[np.bool_]
    share: float
    optimal: bool
    call_price: NDArray[np.float64]


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence file descriptor 1 for the ``with`` block.

    SciPy's bundled HiGHS prints a debug line from C on every improving MIP solution, which
    ``options={"disp": False}`` does not reach.
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no real stdout (embedded interpreters)
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _validated(strike: ArrayLike, bid: ArrayLike, ask: ArrayLike) -> tuple[np.ndarray, ...]:
    k, lo, hi = (np.asarray(a, dtype=np.float64).reshape(-1) for a in (strike, bid, ask))
    if not k.size:
        raise ValueError("strike: expected at least one quote")
    if lo.shape != k.shape or hi.shape != k.shape:
        raise ValueError(f"bid, ask: expected {k.size} values each like strike, got {lo.size} and {hi.size}")
    if not (np.isfinite(k) & (k > 0)).all():
        raise ValueError("strike: expected finite strikes > 0")
    lo = np.where(np.isnan(lo), 0.0, lo)  # no bid: any price down to the lower bound
    hi = np.where(np.isnan(hi), np.inf, hi)
    if (lo < 0).any() or (hi < lo).any():
        raise ValueError("bid, ask: expected 0 <= bid <= ask (NaN for a missing side)")
    return k, lo, hi


def _shape_rows(strikes: np.ndarray, forward: float, n_columns: int) -> tuple[list[sp.csr_matrix], list, list]:
    """Rows of the call-spread and butterfly conditions between neighbouring strikes.

    Slopes in [-1, 0] (units of D) and non-decreasing, on the first ``strikes.size`` of
    ``n_columns`` variables; returns the matrices and their lower and upper bounds.
    """
    n = strikes.size
    if n < 2:  # no neighbours: an empty block keeps the programmes' shapes uniform
        return [sp.csr_matrix((0, n_columns))], [np.zeros(0)], [np.zeros(0)]
    gaps = np.diff(strikes) / forward
    i = np.arange(n - 1)
    slope = sp.csr_matrix((np.r_[-1.0 / gaps, 1.0 / gaps], (np.r_[i, i], np.r_[i, i + 1])), shape=(n - 1, n_columns))
    convex = (slope[1:] - slope[:-1]).tocsr()
    return [slope, convex], [np.full(n - 1, -1.0), np.zeros(n - 2)], [np.zeros(n - 1), np.full(n - 2, np.inf)]


def _solve(objective: np.ndarray, rows: list[sp.csr_matrix], lower: list, upper: list, bounds: Bounds,
           integrality: np.ndarray, time_limit: float):
    with _quiet_stdout():
        return milp(objective, constraints=LinearConstraint(sp.vstack(rows).tocsr(), np.concatenate(lower),
                                                            np.concatenate(upper)),
                    bounds=bounds, integrality=integrality, options={"time_limit": float(time_limit)})


def consistent_quotes(strike: ArrayLike, bid: ArrayLike, ask: ArrayLike, forward: float, discount: float = 1.0,
                      *, time_limit: float = 10.0) -> QuoteConsistency:
    """Find the most quotes of one expiry that a curve free of static arbitrage passes inside.

    The curve is a discounted call price C(K) with ``max(D (F - K), 0) <= C <= D F``, slopes in
    ``[-D, 0]`` (call spreads) and non-decreasing slopes (butterflies) between the quoted
    strikes. Puts enter as their call equivalents (parity: ``C = P + D (F - K)``), so the bid
    and ask here are call-equivalent prices, e.g. the Black call prices at the bid and ask
    implied vols.

    Parameters
    ----------
    strike : array_like, shape (n,)
        Strikes (> 0; repeats allowed: one curve value serves all quotes at a strike).
    bid, ask : array_like, shape (n,)
        Call-equivalent discounted bid and ask prices, ``0 <= bid <= ask``; NaN for a missing
        side (no bid: down to the lower bound; no ask: up to the upper bound).
    forward : float
        Forward of the expiry (> 0).
    discount : float, default 1.0
        Discount factor D of the expiry, in (0, 1.5].
    time_limit : float, default 10.0
        Seconds HiGHS may spend (a 350-strike index expiry takes well under one).

    Returns
    -------
    QuoteConsistency

    Raises
    ------
    ValueError
        Naming the argument: sizes that differ, non-positive strikes, ``bid > ask`` or negative
        prices, a non-positive forward, a discount out of range, a non-positive time limit.
    """
    k, lo, hi = _validated(strike, bid, ask)
    if not (np.isfinite(forward) and forward > 0):
        raise ValueError(f"forward: expected a finite number > 0, got {forward!r}")
    if not 0 < discount <= 1.5:
        raise ValueError(f"discount: expected a number in (0, 1.5], got {discount!r}")
    if not time_limit > 0:
        raise ValueError(f"time_limit: expected seconds > 0, got {time_limit!r}")
    scale = discount * forward  # prices in units of D F keep the programme well scaled
    strikes, at = np.unique(k, return_inverse=True)
    n, m = strikes.size, k.size
    floor = np.maximum(1.0 - strikes / forward, 0.0)
    lo_s, hi_s = lo / scale, np.minimum(hi / scale, 1.0)
    # Inside for z = 1, free between the curve's own bounds for z = 0 (the tightest big-M).
    quote = sp.csr_matrix((np.ones(m), (np.arange(m), at)), shape=(m, n + m))
    big_low = np.maximum(lo_s - floor[at], 0.0)
    big_high = np.maximum(1.0 - hi_s, 0.0)
    shape, shape_low, shape_high = _shape_rows(strikes, forward, n + m)
    rows = [quote - sp.csr_matrix((big_low, (np.arange(m), n + np.arange(m))), shape=(m, n + m)),
            quote + sp.csr_matrix((big_high, (np.arange(m), n + np.arange(m))), shape=(m, n + m)), *shape]
    lower = [lo_s - big_low, np.full(m, -np.inf), *shape_low]
    upper = [np.full(m, np.inf), hi_s + big_high, *shape_high]
    chosen = _solve(np.r_[np.zeros(n), -np.ones(m)], rows, lower, upper,
                    Bounds(np.r_[floor, np.zeros(m)], np.r_[np.ones(n), np.ones(m)]),
                    np.r_[np.zeros(n), np.ones(m)], time_limit)
    price = floor  # the lower bound is an arbitrage-free curve, should HiGHS find nothing in time
    if chosen.x is not None:
        # The binaries hold within HiGHS's integrality tolerance, which lets a big-M row slip by
        # up to 1e-6 of D F: the curve through the chosen quotes is solved again without them.
        keep = chosen.x[n:] > 0.5
        low, high = floor.copy(), np.ones(n)
        np.maximum.at(low, at[keep], lo_s[keep])
        np.minimum.at(high, at[keep], hi_s[keep])
        shape, shape_low, shape_high = _shape_rows(strikes, forward, n)
        curve = _solve(np.zeros(n), shape, shape_low, shape_high, Bounds(low, np.maximum(high, low)), np.zeros(n),
                       time_limit)
        price = curve.x if curve.x is not None else chosen.x[:n]
    c = price[at]
    reached = (c >= lo_s - _TOL) & (c <= hi_s + _TOL)
    return QuoteConsistency(reached, float(reached.mean()), bool(chosen.status == 0), c * scale)


def attainable_inside(quotes: pd.DataFrame, by: tuple[str, ...] = ("root", "expiry")) -> NDArray[np.bool_]:
    """Mark the quotes of a chain that an arbitrage-free surface can fit inside bid-ask, expiry by expiry.

    Each expiry's bid and ask implied vols become Black call prices (call equivalents of the
    puts) and :func:`consistent_quotes` keeps the largest set an arbitrage-free smile passes
    inside; its share is the best inside share any arbitrage-free surface reaches there.

    Parameters
    ----------
    quotes : pandas.DataFrame
        One row per quote with ``strike``, ``forward``, ``discount``, ``tau`` and the bid and ask
        implied vols ``iv_bid``, ``iv_ask`` (NaN for a missing side; the vols and ``tau`` on the
        same time axis), plus the ``by`` columns present (e.g. the fit table of ``ivfast fit``).
    by : tuple of str
        Columns that identify an expiry's quotes (those missing are ignored).

    Returns
    -------
    ndarray of bool, shape (len(quotes),)
        True for the quotes of each expiry's largest consistent set.

    Raises
    ------
    ValueError
        A required column is missing (named).
    """
    missing = [c for c in ("strike", "forward", "discount", "tau", "iv_bid", "iv_ask") if c not in quotes]
    if missing:
        raise ValueError(f"quotes: expected columns {missing}")
    keys = [c for c in by if c in quotes]
    groups = quotes.groupby(keys, sort=False, dropna=False).indices.values() if keys else [np.arange(len(quotes))]
    out = np.zeros(len(quotes), dtype=bool)
    for rows in groups:
        g = quotes.iloc[rows]
        f, d, tau = (float(g[c].iloc[0]) for c in ("forward", "discount", "tau"))
        strike = g["strike"].to_numpy()
        bid, ask = (np.asarray(black_price(f, strike, tau, g[c].to_numpy(), discount=d)) for c in ("iv_bid", "iv_ask"))
        out[rows] = consistent_quotes(strike, bid, ask, f, d).consistent
    return out
