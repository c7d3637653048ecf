"""``consistent_quotes`` / ``attainable_inside``: the most quotes of an expiry that an arbitrage-free
smile fits inside bid-ask, against hand-built chains whose answer is known, and as a bound on any
arbitrage-free curve (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ivfast
from ivfast.arbitrage import attainable_inside, consistent_quotes

F, D, TAU = 100.0, 0.99, 0.25
STRIKES = np.arange(70.0, 131.0, 5.0)


def _call(strike, vol=0.2):
    return np.asarray(ivfast.black_price(F, strike, TAU, vol, discount=D))


def _arbitrage_free(price: np.ndarray, strike: np.ndarray) -> bool:
    """Model-free conditions on the curve itself, checked independently of the programme."""
    slope = np.diff(price) / np.diff(strike)
    eps = 1e-9 * D * F  # the solver's prices carry its feasibility tolerance (1e-7 of D F) at most
    return bool((slope >= -D - 1e-7).all() and (slope <= 1e-7).all() and (np.diff(slope) >= -1e-6).all()
                and (price >= np.maximum(D * (F - strike), 0) - eps).all())


def test_black_scholes_quotes_are_all_reachable():
    mid = _call(STRIKES)
    result = consistent_quotes(STRIKES, np.maximum(mid - 0.05, 0.0), mid + 0.05, F, D)
    assert result.optimal and result.share == 1.0 and result.consistent.all()
    assert _arbitrage_free(result.call_price, STRIKES)
    assert (np.abs(result.call_price - mid) <= 0.05 + 1e-5).all()


def test_a_stale_quote_above_the_chord_is_the_one_given_up():
    mid = _call(STRIKES)
    bid, ask = np.maximum(mid - 0.02, 0.0), mid + 0.02
    # Strike 100 quoted 1.5 above its neighbours' chord: no convex curve through the others
    # reaches it, and giving it up alone restores consistency.
    i = int(np.flatnonzero(STRIKES == 100.0)[0])
    bid[i], ask[i] = mid[i] + 1.5, mid[i] + 1.6
    result = consistent_quotes(STRIKES, bid, ask, F, D)
    assert result.share == pytest.approx((STRIKES.size - 1) / STRIKES.size)
    assert np.flatnonzero(~result.consistent).tolist() == [i]


def test_a_call_spread_arbitrage_costs_one_quote():
    strike = np.array([95.0, 100.0])
    # The 100 call bid above the 95 call ask: a price rising with the strike; one must go.
    result = consistent_quotes(strike, [6.0, 6.5], [6.2, 6.7], F, D)
    assert result.share == 0.5 and result.consistent.sum() == 1


def test_a_call_spread_wider_than_the_discounted_strike_gap_costs_one_quote():
    # C(95) - C(100) <= D * 5 = 4.95; quoting 9 and 3 asks for a spread of 6.
    result = consistent_quotes([95.0, 100.0], [9.0, 2.9], [9.1, 3.0], F, D)
    assert result.share == 0.5


def test_repeated_strikes_share_one_price():
    # Two quotes at one strike whose intervals do not overlap: one curve value reaches one of them.
    result = consistent_quotes([100.0, 100.0, 105.0], [4.0, 5.0, 2.0], [4.2, 5.2, 2.2], F, D)
    assert result.consistent.tolist().count(True) == 2 and result.consistent[2]


def test_missing_sides_leave_the_interval_open():
    mid = _call(STRIKES)
    bid, ask = np.maximum(mid - 0.05, 0.0), mid + 0.05
    bid[0], ask[-1] = np.nan, np.nan
    assert consistent_quotes(STRIKES, bid, ask, F, D).share == 1.0


def test_below_the_intrinsic_floor_is_unreachable():
    # A deep in-the-money call asked below D (F - K): no arbitrage-free price reaches it.
    result = consistent_quotes([60.0, 100.0], [39.0, 3.9], [39.2, 4.1], F, D)
    assert result.consistent.tolist() == [False, True]


@pytest.mark.parametrize("call, match", [
    (lambda: consistent_quotes([], [], [], F), "strike"),
    (lambda: consistent_quotes([100.0, 105.0], [1.0], [1.2, 1.3], F), "bid, ask"),
    (lambda: consistent_quotes([100.0], [2.0], [1.0], F), "bid, ask"),
    (lambda: consistent_quotes([-5.0], [1.0], [1.1], F), "strike"),
    (lambda: consistent_quotes([100.0], [1.0], [1.1], 0.0), "forward"),
    (lambda: consistent_quotes([100.0], [1.0], [1.1], F, 0.0), "discount"),
    (lambda: consistent_quotes([100.0], [1.0], [1.1], F, time_limit=0), "time_limit"),
    (lambda: attainable_inside(pd.DataFrame({"strike": [100.0]})), "quotes"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_attainable_inside_works_expiry_by_expiry():
    vol = 0.2
    rows = []
    for expiry, tau in (("a", 0.1), ("b", 0.5)):
        for strike in STRIKES:
            rows.append({"expiry": expiry, "strike": strike, "forward": F, "discount": D, "tau": tau,
                         "iv_bid": vol - 0.002, "iv_ask": vol + 0.002})
    frame = pd.DataFrame(rows)
    stale = (frame.expiry == "b") & (frame.strike == 100.0)
    frame.loc[stale, ["iv_bid", "iv_ask"]] = [0.30, 0.31]  # ten vol points above its neighbours
    reached = attainable_inside(frame)
    assert reached.sum() == len(frame) - 1 and not reached[stale.to_numpy()].any()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=3, max_size=12), st.floats(0.1, 0.5), st.integers(0, 2**31 - 1))
def test_no_arbitrage_free_curve_reaches_more(hits, vol, seed):
    """Any arbitrage-free curve is a candidate: the optimum reaches at least as many quotes as it."""
    n = len(hits)
    rng = np.random.default_rng(seed)
    strike = np.sort(rng.uniform(60.0, 140.0, n))
    curve = _call(strike, vol)  # a flat Black smile is free of static arbitrage
    width = rng.uniform(0.01, 0.3, n)
    # Intervals around the curve where ``hits``, shifted off it elsewhere.
    shift = np.where(hits, 0.0, rng.choice([-1.0, 1.0], n) * (width + rng.uniform(0.05, 1.0, n)))
    bid = np.maximum(curve + shift - width, 0.0)
    ask = np.maximum(curve + shift + width, bid)
    result = consistent_quotes(strike, bid, ask, F, D)
    reached_by_curve = (curve >= bid) & (curve <= ask)
    assert result.consistent.sum() >= reached_by_curve.sum()
    assert _arbitrage_free(result.call_price, strike)
