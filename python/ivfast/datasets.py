"""Synthetic data sets with known answers, for tests, examples and benchmarks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .black import black_price, black_vega, implied_vol

__all__ = [
    "synthetic_chain",
    "iv_stress_set",
    "ackerer_grid",
    "ackerer_quotes",
    "ACKERER_REFERENCE_BATES",
    "ACKERER_SUBSEQUENT_BATES",
    "ACKERER_FIT_TARGET_LOSS",
    "PLANTED_QUOTE_KINDS",
    "PLANTED_SLICE_KINDS",
]

PLANTED_QUOTE_KINDS = ("zero_bid", "crossed", "locked", "below_intrinsic", "above_upper_bound", "duplicate")
"""Bad quotes :func:`synthetic_chain` can plant in an existing expiry (named by the drop
reason :mod:`ivfast.chain` must give them)."""
PLANTED_SLICE_KINDS = ("expired", "too_few_strikes")
"""Bad expiries :func:`synthetic_chain` can add: one already expired, one with three strikes."""
_THIN_STRIKES = 3
_EXACT_HALF_SPREAD = 1e-9  # relative half-spread of a spread-free chain: bid < ask, mid = price


def iv_stress_set(n: int, seed: int = 0, forward: float = 100.0):
    """A hard random option set for implied-volatility accuracy and speed (issue 2's recipe).

    sigma log-uniform on [0.01, 3]; tau log-uniform on [1/365, 10] years; calls and puts 50/50;
    h = ln(F/K) / (sigma sqrt(tau)) uniform on [-5, 5], plus a 10 % tail of always
    out-of-the-money rows with |h| uniform on [5, 20]; K = F exp(-h sigma sqrt(tau)).

    Returns
    -------
    strike, tau, sigma, is_call : ndarray
        Each of length ``n``; the forward is ``forward`` for every row.
    """
    rng = np.random.default_rng(seed)
    sigma = np.exp(rng.uniform(np.log(0.01), np.log(3.0), n))
    tau = np.exp(rng.uniform(np.log(1.0 / 365.0), np.log(10.0), n))
    is_call = rng.random(n) < 0.5
    h = rng.uniform(-5.0, 5.0, n)
    tail = rng.random(n) < 0.1
    h_tail = rng.uniform(5.0, 20.0, n)
    # Out of the money: calls need K > F (h < 0), puts K < F (h > 0).
    h = np.where(tail, np.where(is_call, -h_tail, h_tail), h)
    strike = forward * np.exp(-h * sigma * np.sqrt(tau))
    return strike, tau, sigma, is_call


def ackerer_grid() -> tuple[np.ndarray, np.ndarray]:
    """The seed experiment's grid (spot 1): 18 strikes 0.3...3 and 18 maturities in years.

    Maturities are QuantLib ``TimeGrid(2, 624)`` points 3, 6, 12, 18, 26, 52, ..., 312, 468, 624
    (3.5 days to 2 years), as in the deep-smoothing seed script.
    """
    strikes = np.array([0.3, 0.4, 0.6, 0.8, 0.9, 0.95, 0.975, 1.0, 1.025, 1.05, 1.1, 1.2, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0])
    steps = np.array([3, 6, 12, 18] + [26 * i for i in range(1, 13)] + [468, 624], dtype=float)
    return strikes, steps * (2.0 / 624.0)


def ackerer_quotes(fields: dict[str, float] | None = None, threads: int | None = 1):
    """Implied vols of a Bates parameter set on :func:`ackerer_grid` (spot 1, r = q = 0, so F = 1).

    Prices come from the C++ Carr-Madan pricer and are inverted out of the money with exact
    maturities (:func:`ivfast.implied_vol_surface`); points whose price carries no volatility
    information are left out.

    Parameters
    ----------
    fields : dict, optional
        BatesParams fields (default :data:`ACKERER_REFERENCE_BATES`).

    Returns
    -------
    k, tau, iv : ndarray
        Flat, maturity-major arrays: k = ln(K/F), tau in years, annualised implied vol.
    """
    from .models import BatesParams
    from .pricing import implied_vol_surface

    strikes, taus = ackerer_grid()
    vols = implied_vol_surface(BatesParams(**(fields or ACKERER_REFERENCE_BATES)), strikes, taus, threads=threads)
    k, tau = np.meshgrid(np.log(strikes), taus)
    ok = np.isfinite(vols)
    return k[ok], tau[ok], vols[ok]


ACKERER_REFERENCE_BATES = dict(v0=0.01, kappa=0.5, theta=0.0625, sigma=1.0, rho=-0.75, lam=0.2, beta=-0.03, alpha=0.7)
"""The seed's reference Bates parameter set (spot 1, r = q = 0): ``BatesParams(**ACKERER_REFERENCE_BATES)``."""
ACKERER_SUBSEQUENT_BATES = dict(v0=0.02, kappa=0.4, theta=0.05, sigma=0.8, rho=-0.65, lam=0.3, beta=-0.04, alpha=0.5)
"""The seed's subsequent-model Bates parameter set (warm-start experiment)."""
ACKERER_FIT_TARGET_LOSS = 0.012
"""Target loss at which deep-smoothing fits of the seed's reference set meet issue 4's 0.5 vol-point
quote RMSE for every seed measured.

At the seed's own stopping level (best loss <= 0.02, ``SmoothingConfig.target_loss``'s default) the
quote RMSE is 0.55-0.70 vol points over seeds 0-5: the loss is RMSE + MAPE + penalties, and these fits end with
MAPE about twice the RMSE (the remaining errors sit in the high-vol, short-maturity wings, where
MAPE is cheap), so RMSE is about 0.3 x the loss, with a +-20 % scatter from one state to the next
(0.39-0.51 vol points at 0.014 over seeds 0-5). At 0.012 seeds 0-5 give 0.35-0.42
(``bench/sweep_smoothing.py``; bench/README.md).
The fit passes 0.02 on the way; :meth:`ivfast.surface.FittedSurface.first_reached` says when."""


def _model_prices(params: Any, strikes: np.ndarray, taus: np.ndarray, spot: float, rate: float,
                  dividend: float) -> tuple[np.ndarray, np.ndarray]:
    """Discounted (calls, puts), shape (n_tau, n_strike): closed-form Black-Scholes for a flat
    volatility (float), the Fourier pricer ``ivfast.call_prices`` for model parameters
    (``BatesParams``, ``HestonParams``, ``BlackScholesParams``)."""
    if isinstance(params, (int, float, np.floating)) and not isinstance(params, bool):
        if not params > 0:
            raise ValueError(f"params: a flat volatility must be positive, got {params!r}")
        fwd = spot * np.exp((rate - dividend) * taus)[:, None]
        disc = np.exp(-rate * taus)[:, None]
        calls = black_price(fwd, strikes[None, :], taus[:, None], float(params), is_call=True, discount=disc)
        puts = black_price(fwd, strikes[None, :], taus[:, None], float(params), is_call=False, discount=disc)
        return np.asarray(calls), np.asarray(puts)
    from . import pricing  # the Fourier pricer (C++ Carr-Madan) and its parameter types

    if not isinstance(params, (pricing.BatesParams, pricing.HestonParams, pricing.BlackScholesParams)):
        raise ValueError(f"params: expected a flat volatility or BatesParams/HestonParams/BlackScholesParams, "
                         f"got {type(params).__name__}")
    kwargs = dict(spot=spot, rate=rate, dividend=dividend)
    return pricing.call_prices(params, strikes, taus, **kwargs), pricing.put_prices(params, strikes, taus, **kwargs)


def _vol_spread(k: np.ndarray, tau: np.ndarray, spread: float) -> np.ndarray:
    """Full bid-ask width in vol: ``spread`` at the money for long expiries, widening with
    standardised moneyness |k|/sqrt(tau) and as expiry nears (a one-week option ~1.8x)."""
    return spread * (1.0 + 0.5 * np.abs(k) / np.sqrt(tau)) * np.sqrt(1.0 + 0.05 / tau)


def _quote(price, fwd, strike, tau, disc, is_call, spread, tick):
    """Bid and ask around ``price`` (discounted): half the vol spread times vega, at least one
    tick and 2 bp of the price (deep in-the-money quotes are wide in price terms); bid rounded
    down and ask up to the tick, bid floored at 0."""
    if spread == 0 and tick == 0:
        half = _EXACT_HALF_SPREAD * price
        return price - half, price + half
    iv = implied_vol(price, fwd, strike, tau, is_call=is_call, discount=disc)
    iv = np.where(np.isfinite(iv), iv, 0.0)
    vega = black_vega(fwd, strike, tau, iv, discount=disc)
    half = np.maximum.reduce([0.5 * _vol_spread(np.log(strike / fwd), tau, spread) * vega, 2e-4 * price,
                              np.full_like(price, tick)])
    if tick > 0:
        bid = np.floor((price - half) / tick + 1e-9) * tick
        ask = np.ceil((price + half) / tick - 1e-9) * tick
    else:
        bid, ask = price - half, price + half
    return np.maximum(bid, 0.0), ask


def _plant(frame: pd.DataFrame, kind: str, rng: np.random.Generator, tick: float) -> pd.DataFrame:
    """Spoil one good quote (or append a stale duplicate) and tag it with ``kind``."""
    disc, fwd = frame["discount"], frame["forward"]
    strike, is_call = frame["strike"], frame["type"] == "call"
    intrinsic = disc * np.maximum(np.where(is_call, fwd - strike, strike - fwd), 0.0)
    free = (frame["bad_reason"] == "") & (frame["bid"] > 0)
    eligible = {
        "below_intrinsic": free & (intrinsic > 0.05 * fwd * disc),
        "above_upper_bound": free & (intrinsic == 0),
        "duplicate": free & (frame["bid"] > 10 * max(tick, 1e-3)),
    }.get(kind, free)
    candidates = np.flatnonzero(eligible.to_numpy())
    if candidates.size == 0:
        raise ValueError(f"bad_quotes: no quote left that can be turned into {kind!r}")
    i = frame.index[rng.choice(candidates)]
    bid, ask = frame.at[i, "bid"], frame.at[i, "ask"]
    width = max(ask - bid, tick, 1e-3)
    if kind == "duplicate":  # a stale copy: same contract, wider and shifted market
        copy = frame.loc[[i]].assign(bid=bid - 2 * width, ask=ask + 3 * width, bad_reason=kind)
        return pd.concat([frame, copy], ignore_index=True)
    if kind == "zero_bid":
        bid = 0.0
    elif kind == "crossed":
        bid, ask = ask + width, ask
    elif kind == "locked":
        bid = ask
    elif kind == "below_intrinsic":
        ask = 0.97 * intrinsic[i]
        bid = ask - width
    elif kind == "above_upper_bound":
        bound = disc[i] * (fwd[i] if is_call[i] else strike[i])
        bid, ask = 1.01 * bound, 1.01 * bound + width
    else:
        raise ValueError(f"bad_quotes: unknown kind {kind!r}; expected one of "
                         f"{PLANTED_QUOTE_KINDS + PLANTED_SLICE_KINDS}")
    frame.loc[i, ["bid", "ask", "bad_reason"]] = [bid, ask, kind]
    return frame


def _otm_implied_vols(frame: pd.DataFrame, live: np.ndarray) -> np.ndarray:
    """Black vol of the out-of-the-money member at each (expiry, strike), shared by the call
    and the put (parity): the in-the-money price loses the time value to rounding."""
    otm_is_call = (frame["strike"] >= frame["forward"]).to_numpy()
    otm = frame[live & ((frame["type"] == "call").to_numpy() == otm_is_call)]
    vols = implied_vol(otm["model_price"], otm["forward"], otm["strike"], otm["tau"],
                       is_call=otm["type"] == "call", discount=otm["discount"])
    table = pd.Series(np.asarray(vols), index=pd.MultiIndex.from_arrays([otm["tau"], otm["strike"]]))
    return table.reindex(pd.MultiIndex.from_arrays([frame["tau"], frame["strike"]])).to_numpy()


def _long_frame(days: np.ndarray, strikes: np.ndarray, calls: np.ndarray, puts: np.ndarray, as_of: dt.date,
                spot: float, rate: float, dividend: float) -> pd.DataFrame:
    tau = days / 365.0
    n_t, n_k = calls.shape
    parts = []
    for kind, prices in (("call", calls), ("put", puts)):
        parts.append(pd.DataFrame({
            "root": "SYN",
            "expiry": np.repeat([as_of + dt.timedelta(days=int(d)) for d in days], n_k),
            "tau": np.repeat(tau, n_k),
            "strike": np.tile(strikes, n_t),
            "type": kind,
            "model_price": prices.reshape(-1),
            "forward": np.repeat(spot * np.exp((rate - dividend) * tau), n_k),
            "discount": np.repeat(np.exp(-rate * tau), n_k),
        }))
    return pd.concat(parts, ignore_index=True)


def _extra_slice(kind: str, days_max: int, strikes: np.ndarray, params, spot, rate, dividend, as_of) -> pd.DataFrame:
    """An expired expiry (priced at intrinsic plus a little) or a three-strike expiry."""
    near = strikes[np.argsort(np.abs(np.log(strikes / spot)))[:_THIN_STRIKES if kind == "too_few_strikes" else 7]]
    near = np.sort(near)
    if kind == "expired":
        days = np.array([-1])
        calls = np.maximum(spot - near, 0.0)[None, :] + 0.5
        puts = np.maximum(near - spot, 0.0)[None, :] + 0.5
    else:
        days = np.array([days_max + 28])
        calls, puts = _model_prices(params, near, days / 365.0, spot, rate, dividend)
    frame = _long_frame(days, near, calls, puts, as_of, spot, rate, dividend)
    return frame.assign(bad_reason=kind)


def synthetic_chain(
    params: Any,
    expiries: Sequence[float],
    strikes: Sequence[float],
    spot: float = 100.0,
    rate: float = 0.03,
    dividend: float = 0.01,
    *,
    spread: float = 0.01,
    tick: float = 0.01,
    missing: float = 0.0,
    bad_quotes: int | Sequence[str] = 0,
    as_of: Any = "2024-01-02",
    seed: int | None = 0,
) -> pd.DataFrame:
    """A realistic option chain with known forward, discount factor and implied vols.

    Parameters
    ----------
    params : float or ivfast.BatesParams (or HestonParams, BlackScholesParams)
        A flat Black-Scholes volatility (closed form), or model parameters priced by
        :func:`ivfast.call_prices` / :func:`ivfast.put_prices` (Carr-Madan FFT, absolute
        error below 1e-10 per unit of discounted forward at the default tolerance).
    expiries : sequence of float
        Year fractions, rounded to whole days (ACT/365) from ``as_of``.
    strikes : sequence of float
        Strikes listed for every expiry, price units.
    spot, rate, dividend : float
        Spot, continuously compounded rate and dividend yield:
        ``F = spot exp((rate - dividend) tau)``, ``D = exp(-rate tau)``.
    spread : float, default 0.01
        Bid-ask width in vol at the money for long expiries (0.01 = one vol point), wider in
        the wings and at short expiries; in price terms at least one tick and 2 bp of the
        price. ``spread=0, tick=0`` gives exact quotes (bid and ask 1e-9 relative around
        the model price).
    tick : float, default 0.01
        Price increment; bids round down and asks up (0: no rounding). Bids that round to
        zero stay zero, as far out-of-the-money markets do.
    missing : float, default 0
        Probability that a strike is not listed in an expiry (both call and put removed).
    bad_quotes : int or sequence of str
        Bad quotes to plant: names from :data:`PLANTED_QUOTE_KINDS` and
        :data:`PLANTED_SLICE_KINDS`, or a count (cycling through all kinds).
    as_of : date-like, default "2024-01-02"
        Valuation date.
    seed : int or None
        Random seed (missing strikes, which quotes are spoiled).

    Returns
    -------
    DataFrame
        One row per quote: ``root, expiry, tau, strike, type, bid, ask`` (the chain) and the
        truth: ``model_price`` (discounted), ``true_iv``, ``forward``, ``discount`` and
        ``bad_reason`` (the drop reason :mod:`ivfast.chain` must report, '' for good quotes).
        ``attrs`` holds ``as_of``, ``spot``, ``rate``, ``dividend``.
    """
    taus = np.asarray(expiries, dtype=np.float64)
    k_arr = np.sort(np.asarray(strikes, dtype=np.float64))
    if taus.ndim != 1 or taus.size == 0 or not (taus > 0).all():
        raise ValueError("expiries: expected a non-empty 1-D sequence of positive year fractions")
    if k_arr.ndim != 1 or k_arr.size == 0 or not (k_arr > 0).all():
        raise ValueError("strikes: expected a non-empty 1-D sequence of positive strikes")
    if not 0 <= missing < 1:
        raise ValueError(f"missing: expected a probability in [0, 1), got {missing!r}")
    if spread < 0 or tick < 0:
        raise ValueError("spread and tick must be >= 0")
    kinds = (list(bad_quotes) if not isinstance(bad_quotes, (int, np.integer))
             else [(PLANTED_QUOTE_KINDS + PLANTED_SLICE_KINDS)[i % 8] for i in range(int(bad_quotes))])
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp(as_of).date()
    days = np.unique(np.maximum(np.round(taus * 365.0), 1.0))
    calls, puts = _model_prices(params, k_arr, days / 365.0, spot, rate, dividend)
    frame = _long_frame(days, k_arr, calls, puts, as_of, spot, rate, dividend).assign(bad_reason="")
    for kind in kinds:
        if kind in PLANTED_SLICE_KINDS:
            frame = pd.concat([frame, _extra_slice(kind, int(days.max()), k_arr, params, spot, rate, dividend,
                                                   as_of)], ignore_index=True)
    listed = pd.Series(rng.random(len(days) * len(k_arr)) >= missing,
                       index=pd.MultiIndex.from_product([days / 365.0, k_arr])).reindex(
        pd.MultiIndex.from_arrays([frame["tau"], frame["strike"]]), fill_value=True).to_numpy()
    frame = frame[listed].reset_index(drop=True)
    is_call = (frame["type"] == "call").to_numpy()
    live = frame["tau"].to_numpy() > 0
    frame["true_iv"] = _otm_implied_vols(frame, live)
    bid, ask = _quote(frame["model_price"].to_numpy(), frame["forward"].to_numpy(), frame["strike"].to_numpy(),
                      np.where(live, frame["tau"], 1.0), frame["discount"].to_numpy(), is_call, spread, tick)
    frame["bid"], frame["ask"] = bid, ask
    for kind in kinds:
        if kind not in PLANTED_SLICE_KINDS:
            frame = _plant(frame, kind, rng, tick)
    frame = frame[["root", "expiry", "tau", "strike", "type", "bid", "ask", "model_price", "true_iv", "forward",
                   "discount", "bad_reason"]]
    frame.attrs.update(as_of=as_of, spot=float(spot), rate=float(rate), dividend=float(dividend))
    return frame
