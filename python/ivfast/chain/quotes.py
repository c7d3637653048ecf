"""Out-of-the-money quote selection, weights and the :class:`SurfaceQuotes` result.

Vols are annualised Black-76 vols (0.01 is one vol point), ``k = ln(K/F)`` against the parity
forward, ``tau`` in years (calendar ACT/365 unless :meth:`SurfaceQuotes.in_trading_time`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from ..black import black_vega
from .analysis import ChainAnalysis, analyze_chain
from .calendar import TRADING_DAYS_PER_YEAR, trading_days_between
from .readers import ChainSource

__all__ = ["SurfaceQuotes", "select_otm", "prepare_quotes", "WEIGHT_SCHEMES"]

WEIGHT_SCHEMES = ("spread", "vega", "equal")
SURFACE_COLUMNS = ["k", "tau", "iv_mid", "iv_bid", "iv_ask", "weight", "forward", "discount", "expiry", "strike",
                   "type", "root", "slice"]
DROPPED_COLUMNS = ["row", "root", "expiry", "tau", "strike", "type", "bid", "ask", "mid", "reason"]


class FitInputs(TypedDict):
    """The keyword arguments :meth:`SurfaceQuotes.fit_inputs` gives a surface fit."""

    k: np.ndarray
    tau: np.ndarray
    iv: np.ndarray
    weights: np.ndarray


@dataclass(frozen=True)
class SurfaceQuotes:
    """Implied-vol quotes ready for a surface fit, one per (smile, strike).

    Attributes
    ----------
    quotes : DataFrame
        Columns ``k = ln(K/F)``, ``tau`` (years), ``iv_mid``, ``iv_bid``, ``iv_ask`` (Black-76
        vols of the out-of-the-money quote, or the blend of call and put near the forward),
        ``weight`` (mean 1), ``forward``, ``discount``, ``expiry``, ``strike``, ``type``
        (``call``, ``put`` or ``blend``), ``root`` and ``slice`` (smile number).
    dropped : DataFrame
        Every input quote that could not be used, with its source ``row`` and ``reason``.
    forwards : DataFrame
        Forward, discount factor, method and parity-fit residual summary per smile.
    parity : DataFrame
        Put-call-parity regression residuals per strike.
    n_input : int
        Number of input quotes (calls and puts counted separately).
    info : dict
        ``as_of``, ``spot``, ``source`` of the chain.
    """

    quotes: pd.DataFrame
    dropped: pd.DataFrame
    forwards: pd.DataFrame
    parity: pd.DataFrame
    n_input: int
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.quotes)

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the quote table.

        Returns
        -------
        DataFrame
            A copy of :attr:`quotes`.
        """
        return self.quotes.copy()

    @property
    def k(self) -> np.ndarray:
        """Log-moneyness ln(K/F)."""
        return self.quotes["k"].to_numpy(dtype=np.float64)

    @property
    def tau(self) -> np.ndarray:
        """Year fractions to expiry."""
        return self.quotes["tau"].to_numpy(dtype=np.float64)

    @property
    def iv(self) -> np.ndarray:
        """Mid implied volatilities."""
        return self.quotes["iv_mid"].to_numpy(dtype=np.float64)

    @property
    def iv_bid(self) -> np.ndarray:
        """Bid implied volatilities (NaN where the bid has none)."""
        return self.quotes["iv_bid"].to_numpy(dtype=np.float64)

    @property
    def iv_ask(self) -> np.ndarray:
        """Ask implied volatilities (NaN where the ask has none)."""
        return self.quotes["iv_ask"].to_numpy(dtype=np.float64)

    @property
    def weights(self) -> np.ndarray:
        """Fit weights, mean 1."""
        return self.quotes["weight"].to_numpy(dtype=np.float64)

    @property
    def total_variance(self) -> np.ndarray:
        """Total implied variance ``w = iv_mid**2 * tau``."""
        return self.iv**2 * self.tau

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the fit inputs as a tuple, e.g. ``fit_surface(*q.arrays()[:3], weights=q.weights)``.

        Returns
        -------
        k, tau, iv, weights : ndarray
            :attr:`k`, :attr:`tau`, :attr:`iv` (mid) and :attr:`weights`, one entry per quote.
        """
        return self.k, self.tau, self.iv, self.weights

    def fit_inputs(self) -> FitInputs:
        """Return the keyword arguments of a surface fit: ``fit_surface(**q.fit_inputs())``.

        Returns
        -------
        FitInputs
            A dict of ``k``, ``tau``, ``iv`` (mid) and ``weights`` arrays.
        """
        return {"k": self.k, "tau": self.tau, "iv": self.iv, "weights": self.weights}

    def slices(self) -> Iterator[tuple[tuple[str, Any, float], pd.DataFrame]]:
        """Iterate over the smiles by increasing tau (for per-slice fits).

        Yields
        ------
        key : tuple of (str, Timestamp or NaT, float)
            ``(root, expiry, tau)`` of the smile.
        quotes : DataFrame
            Its rows of :attr:`quotes`.
        """
        for _, group in self.quotes.sort_values(["tau", "root"], kind="stable").groupby(
                ["tau", "root"], sort=False):
            first = group.iloc[0]
            yield (first["root"], first["expiry"], float(first["tau"])), group

    @property
    def kept_fraction(self) -> float:
        """Fraction of input quotes that survived cleaning (before OTM selection)."""
        return 1.0 - len(self.dropped) / self.n_input if self.n_input else 0.0

    def drop_summary(self) -> pd.Series:
        """Count the quotes cleaning dropped (:attr:`dropped`) per reason code.

        Returns
        -------
        pandas.Series
            Quotes per reason, most frequent first (as :meth:`ChainAnalysis.drop_summary`).
        """
        return self.dropped["reason"].value_counts()

    def in_trading_time(self) -> SurfaceQuotes:
        """Return the same quotes on a trading-time axis.

        ``tau`` becomes NYSE sessions from the as-of close to expiry / 252, implied vols are
        rescaled so that total variance ``iv**2 * tau`` is unchanged (it is fixed by price and
        forward), the weights are recomputed from the rescaled vols (a "spread" weight is the inverse
        bid-ask width in vol units of the axis; "vega" and "equal" weights do not change), and the
        calendar ``tau`` is kept as ``tau_calendar``. See
        :mod:`ivfast.chain.calendar` for why a surface fit prefers it. Quotes whose expiry has
        no trading session after the as-of date move to ``dropped`` (reason
        ``no_trading_session``). Quotes already in trading time are returned as they are.

        Returns
        -------
        SurfaceQuotes
            A new result with ``info["time_axis"] == "trading"``.

        Raises
        ------
        ValueError
            Without ``info["as_of"]`` or expiry dates (a table given as ``tau`` only).
        """
        if self.info.get("time_axis") == "trading":
            return self  # tau is already in trading time; rescaling again would lose tau_calendar
        q = self.quotes
        if self.info.get("as_of") is None or q["expiry"].isna().any():
            raise ValueError("quotes: trading time needs the as-of date and every expiry date")
        ends = pd.to_datetime(q["expiry"]).dt.normalize().to_numpy(dtype="datetime64[D]")
        tau = trading_days_between(pd.Timestamp(self.info["as_of"]).to_datetime64(), ends) / TRADING_DAYS_PER_YEAR
        keep = tau > 0
        scale = np.sqrt(q["tau"].to_numpy() / np.where(keep, tau, np.nan))
        table = q.assign(tau_calendar=q["tau"], tau=tau, **{c: q[c] * scale for c in ("iv_mid", "iv_bid", "iv_ask")})
        if "weights" in self.info:  # spread weights are per vol unit of the axis: recompute them on it
            table.loc[keep, "weight"] = _weights(table.loc[keep], self.info["weights"], self.info["min_spread"])
        gone = q.loc[~keep].assign(reason="no_trading_session")
        dropped = pd.concat([self.dropped, gone.reindex(columns=self.dropped.columns)], ignore_index=True)
        return replace(self, quotes=table.loc[keep].reset_index(drop=True), dropped=dropped,
                       info={**self.info, "time_axis": "trading"})


    def on_time_axis(self, time_axis: str = "trading") -> tuple[SurfaceQuotes, str]:
        """Return the quotes on ``time_axis`` and a note saying which axis they are on.

        Parameters
        ----------
        time_axis : {"trading", "calendar"}
            "trading": :meth:`in_trading_time`, falling back to calendar time (said in the note)
            when the quotes have no expiry dates; "calendar": the quotes as they are.

        Returns
        -------
        tuple of (SurfaceQuotes, str)
            The quotes and a one-line description of their maturity axis.

        Raises
        ------
        ValueError
            ``time_axis`` is neither "trading" nor "calendar".
        """
        if time_axis not in ("trading", "calendar"):
            raise ValueError(f"time_axis: expected 'trading' or 'calendar', got {time_axis!r}")
        if time_axis == "calendar":
            return self, "maturity in calendar years (ACT/365)"
        try:
            return self.in_trading_time(), "maturity in NYSE trading years (sessions / 252)"
        except ValueError as exc:
            return self, f"maturity in calendar years (ACT/365): no trading time ({exc})"


def _put_share(k: np.ndarray, tau: np.ndarray, blend_width: float) -> np.ndarray:
    """Weight of the put in the blend: 1 below the blend zone, 0 above, linear inside."""
    half = blend_width * np.sqrt(tau)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(0.5 - k / (2.0 * half), 0.0, 1.0)
    return np.where(half > 0, share, np.where(k < 0, 1.0, np.where(k > 0, 0.0, 0.5)))


def _combine(put: np.ndarray, call: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Blend ``share * put + (1 - share) * call``, reading only the sides with a positive share.

    A missing value on an unused side does not leak in (NaN on a used side stays NaN).
    """
    return np.where(share == 1.0, put, np.where(share == 0.0, call, share * put + (1.0 - share) * call))


def _weights(table: pd.DataFrame, scheme: str, min_spread: float) -> np.ndarray:
    if scheme == "equal":
        w = np.ones(len(table))
    elif scheme == "spread":
        spread = (table["iv_ask"] - table["iv_bid"]).to_numpy()
        spread = np.where(np.isfinite(spread), np.maximum(spread, max(min_spread, 1e-12)), np.nan)
        worst = np.nanmax(spread) if np.isfinite(spread).any() else 1.0
        w = 1.0 / np.where(np.isnan(spread), worst, spread)
    else:
        # Vega per unit of discounted forward and sqrt(tau) = phi(d1): comparable across expiries.
        f, d, tau = table["forward"].to_numpy(), table["discount"].to_numpy(), table["tau"].to_numpy()
        vega = black_vega(f, table["strike"].to_numpy(), tau, table["iv_mid"].to_numpy(), discount=d)
        w = np.asarray(vega) / (d * f * np.sqrt(tau))
    return w / np.mean(w) if len(w) else w


def _check_selection(blend_width: float, weights: str, min_spread: float) -> None:
    if weights not in WEIGHT_SCHEMES:
        raise ValueError(f"weights: expected one of {WEIGHT_SCHEMES}, got {weights!r}")
    if not blend_width >= 0:
        raise ValueError(f"blend_width: expected a number >= 0, got {blend_width!r}")
    if not min_spread >= 0:
        raise ValueError(f"min_spread: expected a number >= 0, got {min_spread!r}")


def select_otm(
    analysis: ChainAnalysis,
    *,
    blend_width: float = 0.05,
    weights: str = "spread",
    min_spread: float = 1e-3,
) -> SurfaceQuotes:
    """Keep the out-of-the-money quote per strike and weight the quotes for a surface fit.

    Puts below the forward, calls above, and a linear blend of both within
    ``|k| <= blend_width * sqrt(tau)`` around the forward.

    Parameters
    ----------
    analysis : ChainAnalysis
        From :func:`ivfast.chain.analyze_chain`.
    blend_width : float, default 0.05
        Half-width of the blend zone in ``k / sqrt(tau)``; 0 switches sides at the forward.
    weights : {"spread", "vega", "equal"}, default "spread"
        ``spread``: ``1 / max(iv_ask - iv_bid, min_spread)`` (quotes missing a bid or ask vol
        get the lowest weight); ``vega``: Black vega over ``D F sqrt(tau)``, i.e. the normal
        density at d1; ``equal``: ones. Normalised to mean 1.
    min_spread : float, default 1e-3
        Floor of the vol spread (0.1 vol point) so tight quotes do not dominate.

    Returns
    -------
    SurfaceQuotes
        One quote per (smile, strike) with a finite mid vol, and the dropped quotes.

    Raises
    ------
    ValueError
        If ``weights`` is not a scheme name or ``blend_width``/``min_spread`` is negative.
    """
    _check_selection(blend_width, weights, min_spread)
    usable = analysis.usable
    per_strike = ["slice", "strike"]
    legs = {side: usable[usable["is_call"] == is_call].set_index(per_strike)
            for side, is_call in (("call", True), ("put", False))}
    index = legs["call"].index.union(legs["put"].index)
    first = pd.concat([legs["put"], legs["call"]])
    first = first[~first.index.duplicated()].reindex(index)
    table = first[["root", "expiry", "tau", "forward", "discount", "k"]].reset_index()
    share = _put_share(table["k"].to_numpy(), table["tau"].to_numpy(), blend_width)
    used_put = legs["put"]["iv_mid"].reindex(index).notna().to_numpy() & (share > 0)
    used_call = legs["call"]["iv_mid"].reindex(index).notna().to_numpy() & (share < 1)
    # Inside the blend zone a strike with one usable side takes that side alone.
    share = np.where(used_put & used_call, share, np.where(used_put, 1.0, 0.0))
    for col in ("iv_mid", "iv_bid", "iv_ask"):
        put = legs["put"][col].reindex(index).to_numpy()
        call = legs["call"][col].reindex(index).to_numpy()
        table[col] = np.where(used_put | used_call, _combine(put, call, share), np.nan)
    table["type"] = np.where(used_put & used_call, "blend", np.where(used_put, "put", "call"))
    table = table[np.isfinite(table["iv_mid"].to_numpy())].reset_index(drop=True)
    table["weight"] = _weights(table, weights, min_spread)
    dropped = analysis.dropped.assign(type=np.where(analysis.dropped["is_call"], "call", "put"))
    return SurfaceQuotes(quotes=table[SURFACE_COLUMNS], dropped=dropped[DROPPED_COLUMNS].reset_index(drop=True),
                         forwards=analysis.forwards, parity=analysis.parity, n_input=len(analysis.quotes),
                         info={**analysis.info, "weights": weights, "min_spread": min_spread})


def prepare_quotes(
    source: ChainSource,
    *,
    blend_width: float = 0.05,
    weights: str = "spread",
    min_spread: float = 1e-3,
    **options: Any,
) -> SurfaceQuotes:
    """Turn an option chain (DataFrame or file) into surface-fit quotes in one call.

    :func:`ivfast.chain.analyze_chain` (reading, cleaning, parity forwards, implied vols)
    followed by :func:`select_otm`.

    Parameters
    ----------
    source : DataFrame, str or os.PathLike
        Quotes or a chain file, as for :func:`ivfast.chain.analyze_chain`.
    blend_width, weights, min_spread
        As in :func:`select_otm`.
    **options
        Keyword arguments of :func:`ivfast.chain.analyze_chain`: ``as_of``, ``spot``,
        ``rate``, ``dividend``, ``columns``, ``day_count``, ``roots``, ``parity_window``,
        ``min_parity_pairs``, ``min_strikes``, ``discount``, ``rate_bandwidth``, ``threads``.

    Returns
    -------
    SurfaceQuotes
        The out-of-the-money quotes with weights, and every dropped quote with its reason.

    Raises
    ------
    ValueError
        Malformed input, or no usable quote left (the message counts the drop reasons).
    """
    _check_selection(blend_width, weights, min_spread)
    analysis = analyze_chain(source, **options)
    if analysis.usable.empty:
        counts = ", ".join(f"{r}: {n}" for r, n in analysis.drop_summary().items())
        raise ValueError(f"quotes: all {len(analysis.quotes)} quotes were dropped ({counts})")
    return select_otm(analysis, blend_width=blend_width, weights=weights, min_spread=min_spread)
