"""De-Americanisation: American quotes to European-equivalent prices on one forward per expiry.

Put-call parity ``C - P = D (F - K)`` holds for European options only. On American quotes it
is biased (puts carry an early-exercise premium, calls one before an ex-date), which shows as
parity discount factors above 1 and a gap between put and call vols at the same strike. The
standard remedy (e.g. Carr & Wu's treatment of OptionMetrics' American equity quotes, and
the "European-equivalent" prices of Cboe's volatility indices on single stocks) replaces each
American price by the European price at its American implied volatility:

1. per expiry, near-the-money call/put pairs are inverted with :func:`ivfast.american_implied_vol`
   under the current rate ``r`` and yield ``q`` (borrow, or the whole dividend when no cash
   dividends are given), and repriced as European on the spot model's forward;
2. parity on these European-equivalent prices, under the discount factor of the rate, gives a
   new forward per expiry, and ``q`` follows from it;
3. repeat until the forwards settle (a few rounds: the premia depend only mildly on q).

The rate is the given curve, or else the pooled parity rate of the raw quotes, floored at 0
(a fallback: see ``_parity_rates``). The parity discount factors that the chain pipeline
then fits to the European-equivalent prices are a check of the conversion: below 1 where it
works, as for European quotes. Where an expiry's parity slope does not identify its discount
(:func:`slope_identified`), the pipeline keeps the conversion's discount and fits only the
forward under it.

Every quote is then converted at its expiry's ``(r, q)``. Quotes the inversion cannot use are
marked: ``early_exercise`` where the American mid is at its exercise value (or has no time
value the pricer resolves), so that no volatility is defined, and the European reasons
(``below_intrinsic``, ``above_upper_bound``, ``invalid_price``) otherwise.

Times are years from the as-of date; cash dividends are ``(ex-time, amount)`` rows in the
spot model of :mod:`ivfast.american`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..american import american_implied_vol, dividend_table, spot_model_forward
from ..black import IVStatus, black_price
from . import parity
from .normalize import DateLike, year_fraction

__all__ = ["EARLY_EXERCISE", "EXERCISE_STYLES", "AmericanCurves", "deamericanize", "read_dividends",
           "resolve_exercise", "slope_identified"]

EARLY_EXERCISE = "early_exercise"
"""Drop reason of an American quote at its early-exercise value (no implied volatility)."""
EXERCISE_STYLES = ("european", "american", "auto")
CHAIN_GRID = (96, 48)
"""Pricer grid for chain quotes: about 1e-5 of the price, far inside any quoted half-spread,
at a tenth of the cost of the default grid."""
_STATUS_REASON = {IVStatus.EARLY_EXERCISE: EARLY_EXERCISE, IVStatus.BELOW_PRICE_ACCURACY: EARLY_EXERCISE,
                  IVStatus.BELOW_INTRINSIC: "below_intrinsic", IVStatus.ABOVE_UPPER_BOUND: "above_upper_bound",
                  IVStatus.INVALID_INPUT: "invalid_price", IVStatus.NO_CONVERGENCE: "invalid_price"}


@dataclass(frozen=True)
class AmericanCurves:
    """Per-expiry rate and yield that make the European-equivalent prices satisfy parity.

    Attributes
    ----------
    table : DataFrame
        One row per smile: ``slice``, ``tau``, ``rate`` (zero rate), ``dividend_yield`` (borrow,
        or the whole dividend without cash dividends), ``forward``, ``discount`` and ``n_pairs``.
    rounds : int
        Rounds of the fixed-point iteration run.
    n_early_exercise : int
        Usable quotes marked ``early_exercise``.
    """

    table: pd.DataFrame
    rounds: int
    n_early_exercise: int


def resolve_exercise(exercise: str, roots: ArrayLike) -> str:
    """``european`` or ``american`` for a chain; ``auto`` is American when a named root is not a European index root.

    Parameters
    ----------
    exercise : {"european", "american", "auto"}
        The requested style.
    roots : array_like of str
        The chain's option roots.

    Returns
    -------
    str
        ``"european"`` or ``"american"``.

    Raises
    ------
    ValueError
        If ``exercise`` is not one of the styles.
    """
    from .readers import EUROPEAN_ROOTS

    if exercise not in EXERCISE_STYLES:
        raise ValueError(f"exercise: expected one of {EXERCISE_STYLES}, got {exercise!r}")
    if exercise != "auto":
        return exercise
    names = {str(r).upper() for r in np.asarray(roots, dtype=object).ravel() if pd.notna(r) and str(r)}
    # Unnamed roots stay European, as the reader's American-exercise warning does.
    return "american" if names - EUROPEAN_ROOTS else "european"


def read_dividends(path: str | os.PathLike[str], as_of: DateLike) -> np.ndarray:
    """Read a cash-dividend file (CSV columns ``ex_date``, ``amount``) into ``(ex-time, amount)`` rows.

    Parameters
    ----------
    path : str or os.PathLike
        CSV file with an ``ex_date`` (YYYY-MM-DD) and an ``amount`` (cash per share) column.
    as_of : str, date or numpy.datetime64
        Valuation date; ex-times are ACT/365 year fractions from it.

    Returns
    -------
    ndarray
        ``(m, 2)`` table as :func:`ivfast.american.dividend_table` validates it.

    Raises
    ------
    ValueError
        If the file cannot be read or lacks the columns, or a row is malformed.
    """
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"dividends: cannot read {os.fspath(path)!r} ({exc})") from None
    missing = {"ex_date", "amount"} - set(frame.columns)
    if missing:
        raise ValueError(f"dividends: {os.fspath(path)!r} lacks the column(s) {sorted(missing)}")
    try:
        times = year_fraction(as_of, pd.Series(pd.to_datetime(frame["ex_date"])))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"dividends: bad ex_date in {os.fspath(path)!r} ({exc})") from None
    amounts = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=np.float64)
    return dividend_table(np.column_stack([times, amounts]))


def slope_identified(fit: parity.ParityFit, half_spread: ArrayLike, discount: float) -> bool:
    """Whether one expiry's parity slope on European-equivalent prices measures its discount factor.

    The slope is a measurement only if (a) the line fits the pairs it kept within their quotes:
    the RMS of the residuals in units of the pairs' half-spreads of ``C - P`` is at most 1 (a
    thin expiry whose wide in-the-money legs are stale, quoted at a different spot, leaves
    residuals several half-spreads wide in steps, and its slope then follows the staleness; its
    formal standard error, which assumes independent residuals, does not show it), and (b) its
    standard error is below ``1 - discount``, the whole discount of the conversion's rate: a
    slope less precise than that cannot tell the rate from zero, and a factor above 1 from such a
    slope is noise. Where either fails, the conversion's discount (the rate curve that made the
    European-equivalent prices) is the expiry's discount, not a clipped slope.

    Parameters
    ----------
    fit : ParityFit
        The expiry's parity fit on European-equivalent prices.
    half_spread : array_like
        Half the bid-ask width of ``C - P``, ``sqrt(spread_call**2 + spread_put**2) / 2``, at
        ``fit.strikes`` (price units).
    discount : float
        The discount factor the conversion used at this expiry.

    Returns
    -------
    bool
        True when the fit's slope is a usable per-expiry discount factor.
    """
    kept = fit.weights > 0
    half = np.maximum(np.asarray(half_spread, dtype=np.float64), 1e-8 * fit.strikes)[kept]  # exact quotes
    misfit = float(np.sqrt(np.mean((fit.residuals[kept] / half) ** 2))) if kept.any() else np.inf
    return misfit <= 1.0 and fit.discount_se < 1.0 - discount


def _near_pairs(q: pd.DataFrame, usable: np.ndarray, spot: float, window: float, min_pairs: int,
                max_pairs: int) -> pd.DataFrame:
    """Select the usable call/put pairs per slice with ``|ln(K/S)| <= window * sqrt(tau)``.

    At least the ``min_pairs`` nearest to the money, at most the ``max_pairs`` nearest.
    """
    cols = ["slice", "tau", "strike", "mid", "bid", "ask"]
    u = q.loc[usable]
    pairs = u.loc[u["is_call"], cols].merge(u.loc[~u["is_call"], cols], on=["slice", "tau", "strike"],
                                            suffixes=("_c", "_p"))
    dist = np.abs(np.log(pairs["strike"] / spot)) / np.sqrt(np.maximum(pairs["tau"], 1.0 / 365.0))
    pairs = pairs.assign(_dist=dist.to_numpy()).sort_values(["slice", "_dist"])
    rank = pairs.groupby("slice").cumcount().to_numpy()
    keep = ((pairs["_dist"].to_numpy() <= window) | (rank < min_pairs)) & (rank < max_pairs)
    return pairs[keep].sort_values(["slice", "strike"])


def _european_equivalent(price: np.ndarray, is_call: np.ndarray, strike: np.ndarray, tau: np.ndarray,
                         rate: np.ndarray, yld: np.ndarray, spot: float, dividends: np.ndarray, grid: tuple[int, int],
                         threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(European price at the American implied vol on the spot-model forward, IVStatus)."""
    with np.errstate(invalid="ignore"):
        vol, status = american_implied_vol(price, spot, strike, tau, rate=rate, dividend_yield=yld,
                                           dividends=dividends, is_call=is_call, return_status=True,
                                           threads=threads, grid=grid)
        fwd, df = spot_model_forward(spot, tau, rate=rate, dividend_yield=yld, dividends=dividends)
        out = black_price(fwd, strike, tau, np.where(status == IVStatus.OK, vol, np.nan), is_call=is_call,
                          discount=df)
    return np.asarray(out, dtype=np.float64), np.asarray(status)


def _slice_fits(pairs: pd.DataFrame, call: str, put: str) -> dict[int, parity.ParityFit]:
    """Parity fit per slice on the columns ``call`` and ``put`` of the pairs (all pairs given)."""
    fits = {}
    for sid, g in pairs[np.isfinite(pairs[call]) & np.isfinite(pairs[put])].groupby("slice"):
        fit = parity.fit_parity(g["strike"], g[call], g[put], g["ask_c"] - g["bid_c"], g["ask_p"] - g["bid_p"],
                                float(g["tau"].iloc[0]), window=np.inf, min_pairs=3)
        if fit is not None:
            fits[int(sid)] = fit
    return fits


def _parity_rates(pairs: pd.DataFrame, taus: np.ndarray, sids: np.ndarray) -> np.ndarray:
    """Zero rate per slice from parity on the raw American pairs, pooled across slices, floored at 0.

    Early-exercise premia bias the raw slopes (most at short expiries, whose slopes the pooling
    weights least), so this is a fallback: pass the rate curve when it is known. The rate cannot
    instead float in the fixed point: a higher rate raises the premia of in-the-money puts,
    which flattens the parity slope and raises the rate again, and the iteration runs off.
    """
    fits = _slice_fits(pairs, "mid_c", "mid_p")
    have = np.array([s in fits for s in sids])
    if not have.any():
        return np.zeros(len(sids))
    pooled = parity.pool_discounts(taus[have], [fits[s].discount for s in sids[have]],
                                   [fits[s].discount_se for s in sids[have]])
    rates = np.maximum(-np.log(pooled) / taus[have], 0.0)
    # Slices without a fit take the rate of the nearest slice that has one.
    nearest = np.abs(np.log(taus)[:, None] - np.log(taus[have])[None, :]).argmin(axis=1)
    return rates[nearest]


def _solve_curves(pairs: pd.DataFrame, wide: pd.DataFrame, slices: pd.DataFrame, spot: float, rate: parity.Curve,
                  dividends: np.ndarray, rounds: int, grid: tuple[int, int], threads: int | None,
                  tol: float = 1e-6) -> tuple[pd.DataFrame, int]:
    """Fixed-point iteration of the yield per slice under a fixed rate (module notes, steps 1-3)."""
    sids = slices["slice"].to_numpy()
    table = slices.assign(rate=0.0, dividend_yield=0.0, forward=np.nan, discount=np.nan,
                          n_pairs=pairs.groupby("slice").size().reindex(sids).fillna(0).astype(int).values)
    taus = table["tau"].to_numpy()
    table["rate"] = ([parity.curve_value(rate, t, "rate") for t in taus] if rate is not None
                     else _parity_rates(wide, taus, sids))
    table["discount"] = np.exp(-table["rate"].to_numpy() * taus)
    done = 0
    for done in range(1, rounds + 1):
        per = table.set_index("slice").loc[pairs["slice"]]
        legs = {}
        for side, is_call in (("c", True), ("p", False)):
            legs[f"eu_{side}"] = _european_equivalent(
                pairs[f"mid_{side}"].to_numpy(), np.full(len(pairs), is_call), pairs["strike"].to_numpy(),
                pairs["tau"].to_numpy(), per["rate"].to_numpy(), per["dividend_yield"].to_numpy(), spot, dividends,
                grid, threads)[0]
        fits = _slice_fits(pairs.assign(**legs), "eu_c", "eu_p")
        fitted = table["slice"].isin(list(fits)).to_numpy()
        if not fitted.any():
            break
        forward = np.array([fits[s].forward_given(d) for s, d in
                            zip(table.loc[fitted, "slice"], table.loc[fitted, "discount"])])
        old_yield = table.loc[fitted, "dividend_yield"].to_numpy()
        model_fwd, _ = spot_model_forward(spot, taus[fitted], rate=table.loc[fitted, "rate"].to_numpy(),
                                          dividend_yield=old_yield, dividends=dividends)
        # q scales the forward by exp(-q tau) (exactly so without cash dividends).
        new_yield = old_yield + np.log(np.asarray(model_fwd) / forward) / taus[fitted]
        previous = table.loc[fitted, "forward"].to_numpy()
        change = np.max(np.abs(forward / previous - 1.0)) if np.isfinite(previous).all() else np.inf
        table.loc[fitted, "dividend_yield"] = new_yield
        table.loc[fitted, "forward"] = forward
        if change <= tol:
            break
    return table, done


def deamericanize(
    quotes: pd.DataFrame,
    usable: np.ndarray,
    *,
    spot: float | None,
    rate: parity.Curve = None,
    dividends: ArrayLike | None = None,
    window: float = 0.5,
    min_pairs: int = 5,
    max_pairs: int = 40,
    rounds: int = 8,
    grid: tuple[int, int] = CHAIN_GRID,
    threads: int | None = None,
) -> tuple[pd.DataFrame, np.ndarray, AmericanCurves]:
    """Replace American bid/mid/ask prices by European-equivalent ones (module notes).

    Parameters
    ----------
    quotes : DataFrame
        Normalised quotes with ``slice``, ``tau``, ``strike``, ``is_call``, ``bid``, ``mid``, ``ask``.
    usable : ndarray of bool
        Quotes that passed cleaning so far; only these are converted.
    spot : float
        Underlying price, > 0.
    rate : float or callable(tau) -> float, optional
        Zero-rate curve; by default the pooled parity rate of the raw quotes, floored at 0
        (weakly determined by American quotes: pass the curve when it is known).
    dividends : array_like, optional
        Cash dividends ``(ex-time in years, amount)``; without them a per-expiry continuous
        yield stands for the dividends.
    window : float, default 0.5
        Parity pairs with ``|ln(K/S)| <= window * sqrt(tau)`` (at least ``min_pairs`` per expiry).
    min_pairs, max_pairs : int, default 5 and 40
        Pairs per expiry taken at least and at most (the nearest to the money).
    rounds : int, default 8
        Most rounds of the iteration (it stops when forwards move by less than 1e-6).
    grid : (int, int), default (96, 48)
        Pricer grid (see :func:`ivfast.american_price`).
    threads : int, optional
        Threads for the American inversions.

    Returns
    -------
    quotes : DataFrame
        A copy with European-equivalent ``bid``, ``mid``, ``ask`` on the rows converted (bid and
        ask shifted by the mid's early-exercise premium), the American prices kept in
        ``american_bid``, ``american_mid``, ``american_ask``.
    reasons : ndarray of str
        Drop reason per quote from the inversion of its mid ('' where converted).
    curves : AmericanCurves
        The per-expiry rate and yield, and how many quotes were early-exercise dominated.

    Raises
    ------
    ValueError
        If ``spot`` is missing or not positive, or ``dividends`` is malformed.
    """
    if spot is None or not (np.isfinite(spot) and spot > 0):
        raise ValueError(f"spot: American quotes need the underlying's spot (> 0), got {spot!r}")
    spot = float(spot)
    table = dividend_table(dividends)
    usable = np.asarray(usable, dtype=bool)
    slices = quotes.loc[usable].drop_duplicates("slice")[["slice", "tau"]].sort_values("slice").reset_index(drop=True)
    pairs = _near_pairs(quotes, usable, spot, window, min_pairs, max_pairs)
    wide = _near_pairs(quotes, usable, spot, 1.0, min_pairs, len(quotes)) if rate is None else pairs
    curves, rounds_run = _solve_curves(pairs, wide, slices, spot, rate, table, rounds, grid, threads)
    out = quotes.copy()
    reasons = np.full(len(out), "", dtype=object)
    rows = np.flatnonzero(usable)
    per = curves.set_index("slice").reindex(out["slice"].to_numpy()[rows])
    args: dict[str, Any] = dict(is_call=out["is_call"].to_numpy()[rows], strike=out["strike"].to_numpy()[rows],
                                tau=out["tau"].to_numpy()[rows], rate=per["rate"].to_numpy(),
                                yld=per["dividend_yield"].to_numpy(), spot=spot, dividends=table, grid=grid,
                                threads=threads)
    american_mid = out["mid"].to_numpy(dtype=np.float64)
    european_mid, status = _european_equivalent(american_mid[rows], **args)
    for code, text in _STATUS_REASON.items():
        reasons[rows[status == code]] = text
    reasons[rows[~np.isfinite(per["forward"].to_numpy()) & (reasons[rows] == "")]] = "no_forward"
    # Bid and ask lose the mid's early-exercise premium: its change across the spread is of
    # second order (premium vega times the spread's vol width), and one inversion per quote
    # instead of three keeps the conversion fast.
    premium = american_mid[rows] - european_mid
    premium[~np.isfinite(premium)] = 0.0  # quotes the inversion could not use keep their prices (and a reason)
    for col in ("mid", "bid", "ask"):
        values = out[col].to_numpy(dtype=np.float64)
        out[f"american_{col}"] = values
        values = values.copy()
        values[rows] = values[rows] - premium
        out[col] = values
    n_early = int(np.count_nonzero(reasons == EARLY_EXERCISE))
    return out, reasons, AmericanCurves(table=curves, rounds=rounds_run, n_early_exercise=n_early)
