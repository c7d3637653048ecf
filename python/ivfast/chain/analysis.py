"""The chain pipeline up to implied vols: read, normalize, clean, forwards by parity, invert."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..black import implied_vol
from . import american, cleaning, parity
from .normalize import DateLike, DayCount, normalize_quotes
from .readers import ChainSource, read_chain

__all__ = ["ChainAnalysis", "analyze_chain"]

_FORWARD_COLUMNS = ["slice", *cleaning.SLICE_KEY, "forward", "discount", "method", "n_pairs", "n_used",
                    "discount_slice", "discount_se", "rms_residual", "max_abs_residual"]
DISCOUNT_MODES = ("pooled", "per_expiry")


@dataclass(frozen=True)
class ChainAnalysis:
    """Every input quote with its forward, discount, implied vols and drop reason.

    Attributes
    ----------
    quotes : DataFrame
        Canonical columns (see :mod:`ivfast.chain.normalize`) plus ``slice`` (smile number),
        ``forward``, ``discount`` (per expiry, from parity), ``k = ln(K/F)``, ``iv_bid``,
        ``iv_mid``, ``iv_ask`` (Black-76 vols of the discounted quotes; NaN where no vol
        reproduces the price) and ``reason`` ('' for usable quotes, else a code of
        :data:`ivfast.chain.cleaning.DROP_REASONS`).
    forwards : DataFrame
        One row per smile: ``forward``, ``discount``, ``method`` (``parity``,
        ``parity_fixed_discount``, ``curves`` or ``none``), ``n_pairs``, ``n_used``,
        ``discount_slice`` (the expiry's own discount before pooling: its parity slope, or for
        de-Americanised quotes whose slope does not identify it, the conversion's discount),
        ``discount_se``, ``rms_residual``, ``max_abs_residual`` (price units).
    parity : DataFrame
        Per smile and strike, the residual ``(C - P) - D (F - K)`` of the per-expiry
        regression (before any pooling of discount factors) and its IRLS weight (0: outlier).
    info : dict
        ``as_of``, ``spot``, ``source`` and the file's other ``attrs``.
    """

    quotes: pd.DataFrame
    forwards: pd.DataFrame
    parity: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> pd.DataFrame:
        """The rows of :attr:`quotes` with no drop reason."""
        return self.quotes[self.quotes["reason"] == ""]

    @property
    def dropped(self) -> pd.DataFrame:
        """The rows of :attr:`quotes` with a drop reason."""
        return self.quotes[self.quotes["reason"] != ""]

    def drop_summary(self) -> pd.Series:
        """Count the dropped quotes per reason.

        Returns
        -------
        pandas.Series
            Number of quotes per reason code, most frequent first.
        """
        return self.dropped["reason"].value_counts()


def _pairs(usable: pd.DataFrame) -> pd.DataFrame:
    """Call/put pairs at the same (slice, strike), sorted by strike within each slice."""
    cols = ["slice", "strike", "mid", "bid", "ask"]
    calls = usable.loc[usable["is_call"], cols]
    puts = usable.loc[~usable["is_call"], cols]
    return calls.merge(puts, on=["slice", "strike"], suffixes=("_c", "_p")).sort_values(["slice", "strike"])


def _slice_forward(pairs: pd.DataFrame, tau: float, spot, rate, dividend, window: float, min_pairs: int,
                   conversion_discount: float | None = None):
    """(forward, discount, method, fit-or-None, per-expiry discount) for one smile.

    ``conversion_discount`` (de-Americanised quotes): the discount the conversion priced the
    European equivalents with; it replaces a parity slope that does not identify the discount
    (:func:`ivfast.chain.american.slope_identified`), and is then the per-expiry discount.
    """
    fit = parity.fit_parity(pairs["strike"], pairs["mid_c"], pairs["mid_p"], pairs["ask_c"] - pairs["bid_c"],
                            pairs["ask_p"] - pairs["bid_p"], tau, window=window, min_pairs=min_pairs)
    if fit is not None and conversion_discount is not None:
        at = pairs.set_index("strike").loc[fit.strikes]
        half = 0.5 * np.hypot(at["ask_c"] - at["bid_c"], at["ask_p"] - at["bid_p"]).to_numpy()
        if not american.slope_identified(fit, half, conversion_discount):
            return (fit.forward_given(conversion_discount), conversion_discount, "parity_fixed_discount", None,
                    conversion_discount)
    if fit is not None:
        return fit.forward, fit.discount, "parity", fit, fit.discount
    if len(pairs) and rate is not None:
        # Too few pairs for a slope: take D from the rate curve and F from each pair's parity.
        discount = float(np.exp(-parity.curve_value(rate, tau, "rate") * tau))
        forward = float(np.median(pairs["strike"] + (pairs["mid_c"] - pairs["mid_p"]) / discount))
        if forward > 0:
            return forward, discount, "parity_fixed_discount", None, np.nan
    curve = parity.curve_forward(spot, tau, rate, dividend)
    if curve is not None:
        return curve[0], curve[1], "curves", None, np.nan
    return np.nan, np.nan, "none", None, np.nan


def _pool(table: pd.DataFrame, fits: dict, bandwidth: float) -> None:
    """Replace per-expiry parity discounts by pooled ones and refit the forwards under them."""
    if len(fits) < 2:
        return
    rows = table.index[table["slice"].isin(list(fits))]
    sub = table.loc[rows]
    pooled = parity.pool_discounts(sub["tau"], sub["discount_slice"], sub["discount_se"], bandwidth)
    table.loc[rows, "discount"] = pooled
    table.loc[rows, "forward"] = [fits[s].forward_given(d) for s, d in zip(sub["slice"], pooled)]


def _forwards(q: pd.DataFrame, usable: np.ndarray, spot, rate, dividend, window, min_pairs, discount_mode,
              bandwidth, conversion: pd.DataFrame | None = None):
    rows, residuals, fits = [], [], {}
    pairs_by_slice = dict(tuple(_pairs(q[usable]).groupby("slice", sort=False)))
    no_pairs = pd.DataFrame(columns=["strike", "mid_c", "mid_p", "bid_c", "ask_c", "bid_p", "ask_p"])
    for key in q.drop_duplicates("slice").sort_values("slice").itertuples(index=False):
        sid, tau = key.slice, float(key.tau)
        pairs = pairs_by_slice.get(sid, no_pairs)
        fixed = None if conversion is None or sid not in conversion.index else float(conversion.loc[sid, "discount"])
        forward, discount, method, fit, per_expiry = (np.nan, np.nan, "none", None, np.nan) if tau <= 0 else \
            _slice_forward(pairs, tau, spot, rate, dividend, window, min_pairs, fixed)
        rows.append({"slice": sid, "root": key.root, "expiry": key.expiry, "tau": tau, "forward": forward,
                     "discount": discount, "method": method, "n_pairs": len(pairs),
                     "n_used": fit.n_used if fit else 0,
                     "discount_slice": per_expiry,
                     "discount_se": fit.discount_se if fit else np.nan,
                     "rms_residual": fit.rms_residual if fit else np.nan,
                     "max_abs_residual": fit.max_abs_residual if fit else np.nan})
        if fit is not None:
            fits[sid] = fit
            residuals.append(pd.DataFrame({"slice": sid, "strike": fit.strikes, "residual": fit.residuals,
                                           "weight": fit.weights}))
    table = pd.DataFrame(rows, columns=_FORWARD_COLUMNS)
    if discount_mode == "pooled":
        _pool(table, fits, bandwidth)
    resid = (pd.concat(residuals, ignore_index=True) if residuals
             else pd.DataFrame(columns=["slice", "strike", "residual", "weight"]))
    return table, table[["slice", *cleaning.SLICE_KEY]].merge(resid, on="slice")


def _invert(q: pd.DataFrame, column: str, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore"):
        vol, status = implied_vol(q[column].to_numpy(), q["forward"].to_numpy(), q["strike"].to_numpy(),
                                  q["tau"].to_numpy(), is_call=q["is_call"].to_numpy(),
                                  discount=q["discount"].to_numpy(), return_status=True, threads=threads)
    return np.asarray(vol), np.asarray(status)


def analyze_chain(
    source: ChainSource,
    *,
    as_of: DateLike | None = None,
    spot: float | None = None,
    rate: parity.Curve = None,
    dividend: parity.Curve = None,
    columns: Mapping[str, str] | None = None,
    day_count: DayCount = "ACT/365",
    roots: Iterable[str] | None = None,
    parity_window: float = 1.0,
    min_parity_pairs: int = 5,
    min_strikes: int = 5,
    discount: str = "pooled",
    rate_bandwidth: float = 1.0,
    threads: int | None = None,
    exercise: str = "european",
    dividends: ArrayLike | str | os.PathLike[str] | None = None,
) -> ChainAnalysis:
    """Clean a chain, imply forwards and discount factors by parity, and invert every quote.

    Parameters
    ----------
    source : DataFrame, str or os.PathLike
        Quotes (see :func:`ivfast.chain.normalize_quotes`) or a Cboe / Yahoo / CSV / Parquet
        file (see :func:`ivfast.chain.read_chain`).
    as_of : str, date or numpy.datetime64, optional
        Valuation date; defaults to the date the file reports (``attrs['as_of']``).
    spot : float, optional
        Underlying price, only used with ``rate`` and ``dividend`` when parity fails;
        defaults to the file's header spot.
    rate, dividend : float or callable(tau) -> float, optional
        Continuously compounded zero rate and dividend yield curves, the fallback for smiles
        with fewer than ``min_parity_pairs`` call/put pairs.
    columns : mapping, optional
        Column renames from the caller's names to the canonical ones.
    day_count : str or callable, default "ACT/365"
        Year-fraction convention (see :func:`ivfast.chain.year_fraction`).
    roots : iterable of str, optional
        Keep only these roots (e.g. ``["SPXW"]``); quotes of other roots are left out entirely.
    parity_window : float, default 1.0
        Parity uses strikes with ``|ln(K/F0)| <= parity_window * sqrt(tau)``.
    min_parity_pairs : int, default 5
        Fewer call/put pairs than this -> the curve fallback.
    min_strikes : int, default 5
        Smiles with fewer usable strikes are dropped (``too_few_strikes``).
    discount : {"pooled", "per_expiry"}, default "pooled"
        ``per_expiry`` keeps each expiry's parity slope as its discount factor;
        ``pooled`` smooths the implied zero rates across expiries with precision weights
        (:func:`ivfast.chain.parity.pool_discounts`) and refits the forwards under them:
        short expiries, whose slope is poorly determined, borrow the rate of their
        neighbours. The per-expiry values stay in ``forwards['discount_slice']``.
    rate_bandwidth : float, default 1.0
        Kernel width in ln(tau) of the pooling.
    threads : int, optional
        Threads for the implied-vol kernel.
    exercise : {"european", "american", "auto"}, default "european"
        ``american`` replaces the quotes by European-equivalent prices before parity
        (:func:`ivfast.chain.american.deamericanize`; ``spot`` is then required), ``auto`` does so
        when a named root is not a European index root. The American prices stay in
        ``american_bid/mid/ask``, the per-expiry rate and yield in ``info["american"]``, and
        early-exercise-dominated quotes get the reason ``early_exercise``.
    dividends : array_like, str or os.PathLike, optional
        Known cash dividends for ``exercise="american"``: rows of ``(ex-time in years, amount)``,
        or a CSV file with ``ex_date`` and ``amount`` columns
        (:func:`ivfast.chain.american.read_dividends`).

    Returns
    -------
    ChainAnalysis
        Every input quote (of the selected roots) with its forward, discount, implied vols and
        drop reason, the per-smile forwards and the parity residuals.

    Raises
    ------
    ValueError
        Malformed input (see :func:`ivfast.chain.normalize_quotes`) or bad options.
    """
    if exercise not in american.EXERCISE_STYLES:
        raise ValueError(f"exercise: expected one of {american.EXERCISE_STYLES}, got {exercise!r}")
    frame = read_chain(source, warn_american=exercise == "european")
    info = dict(getattr(frame, "attrs", {}) or {})
    as_of = info.get("as_of") if as_of is None else as_of
    spot = info.get("spot") if spot is None else spot
    info.update(as_of=as_of, spot=spot)
    for name, value, low in (("min_parity_pairs", min_parity_pairs, 2), ("min_strikes", min_strikes, 1)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    if discount not in DISCOUNT_MODES:
        raise ValueError(f"discount: expected one of {DISCOUNT_MODES}, got {discount!r}")
    if not parity_window > 0:
        raise ValueError(f"parity_window: expected a positive number, got {parity_window!r}")

    q = normalize_quotes(frame, as_of=as_of, columns=columns, day_count=day_count)
    if roots is not None:
        wanted = {str(r) for r in ([roots] if isinstance(roots, str) else roots)}
        q = q[q["root"].isin(wanted)]
        if q.empty:
            raise ValueError(f"roots: no quotes with root in {sorted(wanted)}")
    q = q.assign(slice=q.groupby(cleaning.SLICE_KEY, dropna=False, sort=True).ngroup().to_numpy(),
                 _pos=np.arange(len(q)))

    reason = cleaning.flag_quotes(q)
    cleaning.flag_duplicates(q, reason)
    cleaning.flag_thin_slices(q, reason, min_strikes)  # before parity, so thin smiles say why
    info["exercise"] = american.resolve_exercise(exercise, q["root"].to_numpy())
    if info["exercise"] == "american":
        if isinstance(dividends, (str, os.PathLike)):
            if as_of is None:
                raise ValueError("as_of: a dividend file's ex-dates need the valuation date")
            dividends = american.read_dividends(dividends, as_of)
        q, early, info["american"] = american.deamericanize(q, reason == "", spot=spot, rate=rate, dividends=dividends,
                                                            threads=threads)
        reason[(reason == "") & (early != "")] = early[(reason == "") & (early != "")]
        cleaning.flag_thin_slices(q, reason, min_strikes)
    conversion = info["american"].table.set_index("slice") if "american" in info else None
    forwards, resid = _forwards(q, reason == "", spot, rate, dividend, parity_window, min_parity_pairs, discount,
                                rate_bandwidth, conversion)
    by_slice = forwards.set_index("slice")
    q["forward"] = by_slice["forward"].reindex(q["slice"]).to_numpy()
    q["discount"] = by_slice["discount"].reindex(q["slice"]).to_numpy()
    reason[(reason == "") & ~np.isfinite(q["forward"].to_numpy())] = "no_forward"

    q["k"] = np.log(q["strike"] / q["forward"])
    iv_mid, status = _invert(q, "mid", threads)
    mid_reason = cleaning.status_reason(status, iv_mid)
    reason[reason == ""] = mid_reason[reason == ""]
    q["iv_bid"] = _invert(q, "bid", threads)[0]
    q["iv_mid"] = iv_mid
    q["iv_ask"] = _invert(q, "ask", threads)[0]
    cleaning.flag_thin_slices(q, reason, min_strikes)  # again: inversion may have thinned them
    q["reason"] = reason
    return ChainAnalysis(quotes=q.drop(columns="_pos"), forwards=forwards, parity=resid, info=info)
