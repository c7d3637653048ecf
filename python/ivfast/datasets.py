"""Synthetic data sets with known answers, for tests, examples and benchmarks.

Conventions as in the rest of ivfast: ``k = ln(K/F)`` log-moneyness, ``tau`` in years,
annualised Black volatilities (0.01 is one vol point), discounted prices. The ``ACKERER_*``
sets and :func:`ackerer_grid` are the Bates experiment of the reference deep-smoothing script
(after Ackerer, Tagasovska & Vatter 2020; see docs/references.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Union

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from .black import black_price, black_vega, implied_vol
from .models import BatesParams, BlackScholesParams, HestonParams, ModelParams

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


def iv_stress_set(
    n: int, seed: int = 0, forward: float = 100.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Draw a hard random option set for implied-volatility accuracy and speed tests.

    sigma log-uniform on [0.01, 3]; tau log-uniform on [1/365, 10] years; calls and puts 50/50;
    h = ln(F/K) / (sigma sqrt(tau)) uniform on [-5, 5], plus a 10 % tail of always
    out-of-the-money rows with |h| uniform on [5, 20]; K = F exp(-h sigma sqrt(tau)).

    Parameters
    ----------
    n : int
        Number of options.
    seed : int, default 0
        Seed of the random-number generator.
    forward : float, default 100.0
        Forward of every row, price units.

    Returns
    -------
    strike, tau, sigma, is_call : ndarray
        Each of length ``n``: strikes (price units), maturities (years), Black volatilities
        (annualised) and call flags; price them with :func:`ivfast.black_price`.
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


def ackerer_grid() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the strike x maturity grid of the reference Bates experiment (spot 1).

    18 strikes from 0.3 to 3, and 18 maturities at the QuantLib ``TimeGrid(2, 624)`` points
    3, 6, 12, 18, 26, 52, ..., 312, 468, 624 (3.5 days to 2 years), as the reference
    deep-smoothing script sets them up.

    Returns
    -------
    strikes : ndarray, shape (18,)
        Strikes in units of the spot (= forward, since r = q = 0).
    taus : ndarray, shape (18,)
        Maturities in years, increasing.
    """
    strikes = np.array([0.3, 0.4, 0.6, 0.8, 0.9, 0.95, 0.975, 1.0, 1.025, 1.05, 1.1, 1.2, 1.3, 1.5, 1.75, 2.0, 2.5,
                        3.0])
    steps = np.array([3, 6, 12, 18] + [26 * i for i in range(1, 13)] + [468, 624], dtype=float)
    return strikes, steps * (2.0 / 624.0)


def ackerer_quotes(
    fields: dict[str, float] | None = None, threads: int | None = 1
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Compute the implied vols of a Bates parameter set on :func:`ackerer_grid`.

    Spot 1 and r = q = 0, so F = 1 at every maturity. Prices come from the C++ Carr-Madan
    pricer and are inverted out of the money with exact maturities
    (:func:`ivfast.implied_vol_surface`); points whose price carries no volatility information
    are left out.

    Parameters
    ----------
    fields : dict, optional
        BatesParams fields (default :data:`ACKERER_REFERENCE_BATES`).
    threads : int or None, default 1
        OpenMP threads of the pricer and the inversion (None: OMP_NUM_THREADS or all cores).

    Returns
    -------
    k, tau, iv : ndarray
        Flat, maturity-major arrays: k = ln(K/F), tau in years, annualised implied vol.
    """
    from .pricing import implied_vol_surface

    strikes, taus = ackerer_grid()
    vols = implied_vol_surface(BatesParams(**(fields or ACKERER_REFERENCE_BATES)), strikes, taus, threads=threads)
    k, tau = np.meshgrid(np.log(strikes), taus)
    ok = np.isfinite(vols)
    return k[ok], tau[ok], vols[ok]


ACKERER_REFERENCE_BATES = dict(v0=0.01, kappa=0.5, theta=0.0625, sigma=1.0, rho=-0.75, lam=0.2, beta=-0.03, alpha=0.7)
"""The reference Bates parameter set of the deep-smoothing experiment (spot 1, r = q = 0).

Use as ``BatesParams(**ACKERER_REFERENCE_BATES)``.
"""
ACKERER_SUBSEQUENT_BATES = dict(v0=0.02, kappa=0.4, theta=0.05, sigma=0.8, rho=-0.65, lam=0.3, beta=-0.04, alpha=0.5)
"""The subsequent-model Bates parameter set of the same experiment (fits warm-started from the reference fit)."""
ACKERER_FIT_TARGET_LOSS = 0.012
"""Target loss for deep-smoothing fits of :data:`ACKERER_REFERENCE_BATES`.

At 0.012 the quote RMSE target of 0.5 vol points is met with margin, while the conventional
stopping level 0.02 (``SmoothingConfig.target_loss``'s default) leaves it above (numbers in
bench/README.md).
"""


ChainParams = Union[float, ModelParams]
"""What :func:`synthetic_chain` prices with: a flat Black-Scholes volatility or model parameters."""


def _model_prices(params: ChainParams, strikes: np.ndarray, taus: np.ndarray, spot: float, rate: float,
                  dividend: float) -> tuple[np.ndarray, np.ndarray]:
    """Price discounted (calls, puts), shape (n_tau, n_strike).

    Closed-form Black-Scholes for a flat volatility (float), the Fourier pricer
    ``ivfast.call_prices`` for model parameters (``BatesParams``, ``HestonParams``,
    ``BlackScholesParams``).
    """
    if isinstance(params, (int, float, np.floating)) and not isinstance(params, bool):
        if not params > 0:
            raise ValueError(f"params: a flat volatility must be positive, got {params!r}")
        fwd = spot * np.exp((rate - dividend) * taus)[:, None]
        disc = np.exp(-rate * taus)[:, None]
        calls = black_price(fwd, strikes[None, :], taus[:, None], float(params), is_call=True, discount=disc)
        puts = black_price(fwd, strikes[None, :], taus[:, None], float(params), is_call=False, discount=disc)
        return np.asarray(calls), np.asarray(puts)
    from . import pricing  # the Fourier pricer (C++ Carr-Madan)

    if not isinstance(params, (BatesParams, HestonParams, BlackScholesParams)):
        raise ValueError(f"params: expected a flat volatility or BatesParams/HestonParams/BlackScholesParams, "
                         f"got {type(params).__name__}")
    return (pricing.call_prices(params, strikes, taus, spot=spot, rate=rate, dividend=dividend),
            pricing.put_prices(params, strikes, taus, spot=spot, rate=rate, dividend=dividend))


def _vol_spread(k: np.ndarray, tau: np.ndarray, spread: float) -> np.ndarray:
    """Full bid-ask width in vol.

    ``spread`` at the money for long expiries, widening with standardised moneyness
    |k|/sqrt(tau) and as expiry nears (a one-week option ~1.8x).
    """
    return spread * (1.0 + 0.5 * np.abs(k) / np.sqrt(tau)) * np.sqrt(1.0 + 0.05 / tau)


def _quote(price: np.ndarray, fwd: np.ndarray, strike: np.ndarray, tau: np.ndarray, disc: np.ndarray,
           is_call: np.ndarray, spread: float, tick: float) -> tuple[np.ndarray, np.ndarray]:
    """Bid and ask around ``price`` (discounted).

    Half the vol spread times vega, at least one tick and 2 bp of the price (deep in-the-money
    quotes are wide in price terms); bid rounded down and ask up to the tick, bid floored at 0.
    """
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
    pos = rng.choice(candidates)
    i = frame.index[pos]
    bid, ask = float(frame["bid"].to_numpy()[pos]), float(frame["ask"].to_numpy()[pos])
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
    frame.loc[i, "bid"], frame.loc[i, "ask"], frame.loc[i, "bad_reason"] = bid, ask, kind
    return frame


def _otm_implied_vols(frame: pd.DataFrame, live: np.ndarray) -> np.ndarray:
    """Black vol of the out-of-the-money member at each (expiry, strike).

    The call and the put share it (parity): the in-the-money price loses the time value to
    rounding.
    """
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


def _extra_slice(kind: str, days_max: int, strikes: np.ndarray, params: ChainParams, spot: float, rate: float,
                 dividend: float, as_of: dt.date) -> pd.DataFrame:
    """Build an expired expiry (priced at intrinsic plus a little) or a three-strike expiry."""
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
    params: ChainParams,
    expiries: ArrayLike,
    strikes: ArrayLike,
    spot: float = 100.0,
    rate: float = 0.03,
    dividend: float = 0.01,
    *,
    spread: float = 0.01,
    tick: float = 0.01,
    missing: float = 0.0,
    bad_quotes: int | Sequence[str] = 0,
    as_of: str | dt.date | np.datetime64 = "2024-01-02",
    seed: int | None = 0,
) -> pd.DataFrame:
    """Simulate a realistic option chain with known forward, discount factor and implied vols.

    Parameters
    ----------
    params : float or ivfast.BatesParams (or HestonParams, BlackScholesParams)
        A flat Black-Scholes volatility (closed form), or model parameters priced by
        :func:`ivfast.call_prices` / :func:`ivfast.put_prices` (Carr-Madan FFT, absolute
        error below 1e-10 per unit of discounted forward at the default tolerance).
    expiries : array_like of float, 1-D
        Year fractions, rounded to whole days (ACT/365) from ``as_of``.
    strikes : array_like of float, 1-D
        Strikes listed for every expiry, price units.
    spot, rate, dividend : float, default 100.0, 0.03, 0.01
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
    as_of : str, date or numpy.datetime64, default "2024-01-02"
        Valuation date.
    seed : int or None, default 0
        Seed of the random-number generator (missing strikes, which quotes are spoiled).

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
    as_of_date = pd.Timestamp(as_of).date()
    days = np.unique(np.maximum(np.round(taus * 365.0), 1.0))
    calls, puts = _model_prices(params, k_arr, days / 365.0, spot, rate, dividend)
    frame = _long_frame(days, k_arr, calls, puts, as_of_date, spot, rate, dividend).assign(bad_reason="")
    for kind in kinds:
        if kind in PLANTED_SLICE_KINDS:
            frame = pd.concat([frame, _extra_slice(kind, int(days.max()), k_arr, params, spot, rate, dividend,
                                                   as_of_date)], ignore_index=True)
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
    frame.attrs.update(as_of=as_of_date, spot=float(spot), rate=float(rate), dividend=float(dividend))
    return frame
