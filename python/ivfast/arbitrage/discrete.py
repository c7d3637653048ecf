"""Model-free static-arbitrage checks of call quotes on a maturity x strike grid.

Every maturity is normalised by its forward F and discount factor D: strikes kappa = K/F and
prices c = C/(D F) (undiscounted, in units of the forward). A zero-strike call worth c = 1 is a
model-free extra quote of every maturity. Conditions (Carr & Madan 2005, "A note on sufficient
conditions for no arbitrage"; Cohen, Reisinger & Wang 2020, "Detecting and repairing arbitrage
in traded option prices", here CRW):

* price_bounds: max(1 - kappa, 0) <= c <= 1, i.e. max(F - K, 0) D <= C <= F D;
* call_spread: the slope of c between consecutive strikes lies in [-1, 0] (-D <= dC/dK <= 0);
* butterfly: slopes increase with strike, the zero-strike quote included (convexity for any
  strike spacing); the size is the negative price of the butterfly with a unit peak;
* calendar: for every earlier maturity tau_1 < tau_2, at equal forward moneyness kappa
  (proportional dividends, as in CRW), c(tau_2, kappa) >= c(tau_1, kappa). Strikes rarely line
  up across maturities, so each later quote is compared with the lower envelope of the earlier
  slice (the least value any convex, decreasing interpolation of its quotes can take there: the
  larger of its two neighbouring chords extended and the next quote), and each earlier quote
  with the upper envelope of the later slice (its piecewise-linear interpolation, flat beyond
  the last strike). These are CRW's calendar, calendar-vertical and calendar-butterfly spreads.

Together, per-slice conditions and all pairwise calendar conditions are the conditions of CRW
under which the quotes extend to an arbitrage-free call surface; they detect the same quote sets
as CRW's ``arbitragerepair`` (tests/test_arbitrage_discrete.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._arrays import as_float_array
from ..black import black_price
from .report import ArbitrageReport, violation_rows, violation_table

__all__ = ["check_prices", "check_vols"]

# Normalised strikes closer than this (relative) are the same strike for the calendar check: the
# same K on two maturities with the same forward gives K/F equal to the last bit or within one ulp.
_SAME_STRIKE_RTOL = 1e-12


@dataclass(frozen=True)
class _Slice:
    """One maturity's valid quotes, normalised, with the zero-strike quote prepended."""

    tau: float
    strike: np.ndarray  # K of the quotes (no zero-strike quote)
    kappa: np.ndarray  # 0, K_1/F, ..., K_m/F
    c: np.ndarray  # 1, C_1/(D F), ..., C_m/(D F)

    @property
    def slopes(self) -> np.ndarray:
        """Chord slopes of c between consecutive knots (the zero-strike quote included)."""
        return np.diff(self.c) / np.diff(self.kappa)


def _per_maturity(value: ArrayLike, name: str, n: int) -> np.ndarray:
    arr = as_float_array(value, name)
    if arr.ndim > 1 or arr.size not in (1, n):
        raise ValueError(f"{name}: expected a scalar or one value per maturity ({n}), got shape {arr.shape}")
    arr = np.broadcast_to(arr.reshape(-1), (n,))
    if not (np.isfinite(arr).all() and (arr > 0.0).all()):
        raise ValueError(f"{name}: expected finite values > 0")
    return arr


def _validated(strikes: ArrayLike, taus: ArrayLike, values: ArrayLike, forwards: ArrayLike, discounts: ArrayLike,
               value_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    tau = as_float_array(taus, "taus")
    if tau.ndim != 1 or tau.size == 0 or not (np.isfinite(tau).all() and (tau > 0.0).all()):
        raise ValueError("taus: expected a non-empty 1-D array of finite maturities > 0 (years)")
    if np.any(np.diff(tau) == 0.0):
        raise ValueError(f"taus: duplicate maturity {tau[np.nonzero(np.diff(tau) == 0.0)[0][0]]:g}; "
                         "give each maturity once (one row of the grid)")
    if np.any(np.diff(tau) < 0.0):
        raise ValueError("taus: expected increasing maturities; sort the rows of the grid by tau")
    vals = as_float_array(values, value_name)
    if vals.ndim != 2 or vals.shape[0] != tau.size:
        raise ValueError(f"{value_name}: expected shape (len(taus), n_strikes) = ({tau.size}, n), got {vals.shape}")
    strike = as_float_array(strikes, "strikes")
    if strike.shape == vals.shape[1:]:
        strike = np.broadcast_to(strike, vals.shape)
    if strike.shape != vals.shape:
        raise ValueError(f"strikes: expected shape ({vals.shape[1]},) or {vals.shape}, got {strike.shape}")
    for i, row in enumerate(strike):
        quoted = row[np.isfinite(row)]
        if (quoted <= 0.0).any():
            raise ValueError(f"strikes: expected values > 0 (maturity {tau[i]:g})")
        if np.any(np.diff(quoted) <= 0.0):
            raise ValueError(f"strikes: expected strictly increasing strikes per maturity (tau={tau[i]:g}); "
                             "sort them and drop duplicates")
    fwd = _per_maturity(forwards, "forwards", tau.size)
    return strike, tau, vals, fwd, _per_maturity(discounts, "discounts", tau.size)


def _lower_envelope(s: _Slice, x: np.ndarray) -> np.ndarray:
    """Least value at normalised strikes ``x`` of any convex, decreasing interpolation of ``s``."""
    kap, c, slope = s.kappa, s.c, s.slopes
    n = kap.size
    a = np.searchsorted(kap, x, side="right") - 1  # last knot <= x (0 is the zero-strike quote)
    b = a + 1
    exact = np.abs(x - kap[a]) <= _SAME_STRIKE_RTOL * np.maximum(np.abs(x), 1.0)
    bound = np.full(x.shape, -np.inf)
    left = a >= 1  # chord (a-1, a) extended to the right of knot a
    bound[left] = c[a[left]] + slope[a[left] - 1] * (x[left] - kap[a[left]])
    nxt = b <= n - 1  # monotonicity: c(x) >= c at the next knot
    bound[nxt] = np.maximum(bound[nxt], c[b[nxt]])
    right = b <= n - 2  # chord (b, b+1) extended to the left of knot b
    bound[right] = np.maximum(bound[right], c[b[right]] + slope[b[right]] * (x[right] - kap[b[right]]))
    return np.where(exact, c[a], bound)


def _upper_envelope(s: _Slice, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest value at ``x`` of any convex, decreasing interpolation (linear, flat past the end).

    Also returns whether ``x`` is one of the slice's strikes (then the lower-envelope test
    covers it).
    """
    idx = np.clip(np.searchsorted(s.kappa, x), 0, s.kappa.size - 1)
    near = np.minimum(np.abs(x - s.kappa[idx]), np.abs(x - s.kappa[np.maximum(idx - 1, 0)]))
    return np.interp(x, s.kappa, s.c), near <= _SAME_STRIKE_RTOL * np.maximum(np.abs(x), 1.0)


def _slice_rows(s: _Slice, tol: float) -> tuple[list[dict], dict[str, int]]:
    """Price bounds, call spreads and butterflies of one maturity, and how many were checked."""
    kap, c, strike = s.kappa[1:], s.c[1:], s.strike
    k = np.log(kap)
    rows = []
    lower = np.maximum(1.0 - kap, 0.0)
    for size, what in ((lower - c, "C < max(F - K, 0) D"), (c - 1.0, "C > F D")):
        bad = size > tol
        rows.append(violation_rows("price_bounds", k[bad], s.tau, c[bad], size[bad], strike=strike[bad], detail=what))
    slope = s.slopes[1:]  # between consecutive quoted strikes
    for size, what in ((slope, "C increases with K"), (-1.0 - slope, "C falls faster than D per unit K")):
        bad = np.nonzero(size > tol)[0]
        rows.append(violation_rows("call_spread", k[bad + 1], s.tau, slope[bad], size[bad], strike=strike[bad + 1],
                                   detail=[f"{what} (K {strike[j]:g} to {strike[j + 1]:g})" for j in bad]))
    all_slopes = s.slopes
    fly = all_slopes[:-1] - all_slopes[1:]  # price of the unit-peak butterfly centred on each quote but the last
    bad = np.nonzero(fly > tol)[0]
    rows.append(violation_rows("butterfly", k[bad], s.tau, -fly[bad], fly[bad], strike=strike[bad],
                               detail=["wings: zero-strike call and next strike" if j == 0
                                       else "wings: neighbouring strikes" for j in bad]))
    m = kap.size
    return rows, {"price_bounds": 2 * m, "call_spread": 2 * max(m - 1, 0), "butterfly": max(m - 1, 0)}


def _stacked(slices: list[_Slice]) -> tuple[np.ndarray, ...]:
    """Normalised strikes, prices, maturities and strikes of all quotes of ``slices``, concatenated."""
    return (np.concatenate([s.kappa[1:] for s in slices]), np.concatenate([s.c[1:] for s in slices]),
            np.concatenate([np.full(s.strike.size, s.tau) for s in slices]), np.concatenate([s.strike for s in slices]))


def _calendar_rows(slices: list[_Slice], tol: float) -> tuple[list[dict], int]:
    """Every quote against each earlier slice's lower envelope and each later slice's upper one."""
    rows, checked = [], 0
    for i, early in enumerate(slices[:-1]):
        x, c, tau, strike = _stacked(slices[i + 1:])
        bound = _lower_envelope(early, x)
        bad = bound - c > tol
        checked += x.size
        rows.append(violation_rows("calendar", np.log(x[bad]), tau[bad], c[bad], bound[bad] - c[bad],
                                   strike=strike[bad],
                                   detail=[f"C/(DF) below {b:.6g}, the least a tau={early.tau:g} interpolation allows"
                                           for b in bound[bad]]))
    for j, late in enumerate(slices[1:], start=1):
        x, c, tau, strike = _stacked(slices[:j])
        bound, on_knot = _upper_envelope(late, x)
        bad = ~on_knot & (c - bound > tol)
        checked += int((~on_knot).sum())
        rows.append(violation_rows("calendar", np.log(x[bad]), tau[bad], c[bad], c[bad] - bound[bad],
                                   strike=strike[bad],
                                   detail=[f"C/(DF) above {b:.6g}, the most a tau={late.tau:g} interpolation allows"
                                           for b in bound[bad]]))
    return rows, checked


def check_prices(strikes: ArrayLike, taus: ArrayLike, call_prices: ArrayLike, forwards: ArrayLike,
                 discounts: ArrayLike = 1.0, tol: float = 0.0) -> ArbitrageReport:
    """Check a grid of call quotes for static arbitrage, model-free.

    Parameters
    ----------
    strikes : array_like, shape (n_strikes,) or (n_taus, n_strikes)
        Strikes in price units, shared by all maturities or one row per maturity; per row the
        finite strikes must be > 0 and strictly increasing. NaN pads rows with fewer quotes.
    taus : array_like, shape (n_taus,)
        Maturities in years, > 0, strictly increasing (one grid row each).
    call_prices : array_like, shape (n_taus, n_strikes)
        *Discounted* call prices. NaN or infinite cells are skipped and counted in
        ``report.skipped`` (cells where both price and strike are NaN are padding, not counted).
    forwards : array_like, scalar or shape (n_taus,)
        Forward F of each maturity, > 0.
    discounts : array_like, scalar or shape (n_taus,), default 1.0
        Discount factor D of each maturity, > 0.
    tol : float, default 0.0
        Violations of size <= tol are ignored; sizes are undiscounted prices as a fraction of the
        forward (see the module docstring and ``ivfast.arbitrage.KINDS``).

    Returns
    -------
    ArbitrageReport
        Kinds price_bounds, call_spread, butterfly and calendar; ``k = ln(K/F)``.

    Raises
    ------
    ValueError
        If shapes disagree, maturities are unsorted or repeated, strikes in a row are unsorted
        or repeated, or forwards/discounts are not positive.
    """
    tol = float(tol)
    if not (np.isfinite(tol) and tol >= 0.0):
        raise ValueError(f"tol: expected a finite number >= 0, got {tol}")
    strike, tau, price, fwd, disc = _validated(strikes, taus, call_prices, forwards, discounts, "call_prices")
    quoted = np.isfinite(strike) & np.isfinite(price)
    skipped = int((np.isfinite(strike) ^ np.isfinite(price)).sum())
    slices = [
        _Slice(float(tau[i]), strike[i][quoted[i]],
               np.concatenate([[0.0], strike[i][quoted[i]] / fwd[i]]),
               np.concatenate([[1.0], price[i][quoted[i]] / (disc[i] * fwd[i])]))
        for i in range(tau.size)
    ]
    rows, checked = [], {"price_bounds": 0, "call_spread": 0, "butterfly": 0}
    for s in slices:
        slice_rows, n = _slice_rows(s, tol)
        rows.extend(slice_rows)
        checked = {kind: checked[kind] + n[kind] for kind in checked}
    cal_rows, checked["calendar"] = _calendar_rows(slices, tol)
    rows.extend(cal_rows)
    return ArbitrageReport(
        violations=violation_table(rows), checked=checked, tol=tol, skipped=skipped,
        source=f"{int(quoted.sum())} call quotes on {tau.size} maturities",
        points=(np.log(strike[quoted] / np.broadcast_to(fwd[:, None], strike.shape)[quoted]),
                np.broadcast_to(tau[:, None], strike.shape)[quoted]),
    )


def check_vols(strikes: ArrayLike, taus: ArrayLike, vols: ArrayLike, forwards: ArrayLike,
               discounts: ArrayLike = 1.0, tol: float = 0.0) -> ArbitrageReport:
    """Check a grid of Black-76 implied volatilities for static arbitrage, model-free.

    The vols are converted to discounted call prices with :func:`ivfast.black_price` and
    checked by :func:`check_prices`.

    Parameters
    ----------
    vols : array_like, shape (n_taus, n_strikes)
        Annualised implied volatilities, >= 0; NaN cells are skipped.
    strikes, taus, forwards, discounts, tol : as in :func:`check_prices`

    Returns
    -------
    ArbitrageReport
        :func:`check_prices`'s report on the vols' discounted call prices.

    Raises
    ------
    ValueError
        If a vol is negative, or as for :func:`check_prices`.
    """
    strike, tau, vol, fwd, disc = _validated(strikes, taus, vols, forwards, discounts, "vols")
    if (vol < 0.0).any():
        raise ValueError("vols: expected implied volatilities >= 0 (NaN for missing quotes)")
    prices = np.asarray(black_price(fwd[:, None], strike, tau[:, None], vol, discount=disc[:, None]))
    prices = np.where(np.isfinite(vol) & np.isfinite(strike), prices, np.nan)
    return check_prices(strike, tau, prices, fwd, disc, tol=tol)
