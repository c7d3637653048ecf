"""American prices against published values and QuantLib; invariants; the bad-input matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ivfast
from ivfast import IVStatus, ZeroCurve, american_implied_vol, american_price

from ._american_reference import fd_price, qdfp_price, year_fraction

# The pricer's stated accuracy at the default grid: 1e-6 of the price, or of 1e-3 * strike for
# options cheaper than that (a relative error on a price of 1e-6 K is not what the grid resolves).
REL = 1e-6


def _scale(price: float, strike: float) -> float:
    return max(price, 1e-3 * strike)


@pytest.mark.parametrize(("rate", "premium"), [(0.05, 0.1069527028247546), (0.075, 0.3671112309062572)])
def test_published_early_exercise_premium(rate, premium):
    # Andersen, Lake & Offengenden (2016), "High performance American option pricing", J. Comp.
    # Finance 20(1): put S = K = 100, q = 5%, sigma = 25%, T = 1 y; early-exercise premium to
    # 1e-11 (their highest-precision row, as quoted in QuantLib's test suite).
    european = ivfast.black_price(ivfast.forward(100.0, 1.0, rate, 0.05), 100.0, 1.0, 0.25, is_call=False,
                                  discount=math.exp(-rate))
    got = american_price(100.0, 100.0, 1.0, 0.25, rate=rate, dividend_yield=0.05, is_call=False)
    assert abs(got - (european + premium)) <= REL * got


def _random_contracts(seed: int, n: int):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield dict(spot=100.0, strike=float(100 * np.exp(rng.uniform(-0.35, 0.35))), days=int(rng.integers(7, 3 * 365)),
                   vol=float(rng.uniform(0.08, 0.7)), rate=float(rng.uniform(-0.01, 0.09)),
                   dividend_yield=float(rng.uniform(0.0, 0.06)), is_call=bool(rng.uniform() < 0.4))


@pytest.mark.parametrize("c", list(_random_contracts(17, 30)), ids=lambda c: f"{c['strike']:.0f}-{c['days']}")
def test_matches_quantlib_qdfp_without_cash_dividends(c):
    ref = qdfp_price(**c)
    got = american_price(c["spot"], c["strike"], year_fraction(c["days"]), c["vol"], rate=c["rate"],
                         dividend_yield=c["dividend_yield"], is_call=c["is_call"])
    assert abs(got - ref) <= REL * _scale(ref, c["strike"])


DIVIDEND_CASES = [
    dict(spot=100.0, strike=100.0, days=365, vol=0.2, rate=0.05, dividend_yield=0.0, is_call=False),
    dict(spot=100.0, strike=100.0, days=365, vol=0.2, rate=0.05, dividend_yield=0.0, is_call=True),
    dict(spot=100.0, strike=110.0, days=365, vol=0.3, rate=0.03, dividend_yield=0.0, is_call=True),
]
DIVIDENDS = [(91, 2.0), (274, 2.0)]


@pytest.mark.parametrize("c", DIVIDEND_CASES, ids=lambda c: f"{'call' if c['is_call'] else 'put'}-{c['strike']:.0f}")
def test_cash_dividends_match_quantlib_fd(c):
    # QuantLib's FD engine converges only about first order with cash dividends (its interpolation
    # across the jump), so its own error at 4000 x 4000 is estimated from the 2000 -> 4000 change
    # and allowed on top of ours.
    fine, finer = fd_price(**c, dividends=DIVIDENDS, grid=2000), fd_price(**c, dividends=DIVIDENDS, grid=4000)
    table = [(year_fraction(d), a) for d, a in DIVIDENDS]
    got = american_price(c["spot"], c["strike"], year_fraction(c["days"]), c["vol"], rate=c["rate"],
                         dividends=table, is_call=c["is_call"])
    assert abs(got - finer) <= 2 * abs(finer - fine) + REL * finer
    # and ours is converged to 1e-6 itself: four times the nodes and steps move it by less.
    finest = american_price(c["spot"], c["strike"], year_fraction(c["days"]), c["vol"], rate=c["rate"],
                            dividends=table, is_call=c["is_call"], grid=(960, 480))
    assert abs(got - finest) <= REL * finest


def test_call_without_dividends_is_european_and_american_dominates():
    strikes = np.linspace(60.0, 160.0, 21)
    taus = np.array([[0.05], [0.5], [2.0]])
    rate, vol = 0.04, 0.3
    fwd, df = ivfast.forward(100.0, taus, rate), np.exp(-rate * taus)
    calls = american_price(100.0, strikes, taus, vol, rate=rate, is_call=True)
    european_calls = ivfast.black_price(fwd, strikes, taus, vol, discount=df)
    assert np.all(np.abs(calls - european_calls) <= REL * np.maximum(european_calls, 1e-3 * strikes))
    puts = american_price(100.0, strikes, taus, vol, rate=rate, is_call=False)
    european_puts = ivfast.black_price(fwd, strikes, taus, vol, is_call=False, discount=df)
    assert np.all(puts >= european_puts - 1e-9) and np.all(puts >= np.maximum(strikes - 100.0, 0.0))
    # deep in the money the put is exercised at once: its value is the intrinsic value
    assert american_price(100.0, 160.0, 0.5, 0.3, rate=0.04, is_call=False) == pytest.approx(60.0, abs=1e-12)


def test_dividends_lower_calls_raise_puts_and_curve_matches_flat_rate():
    base = dict(spot=100.0, strike=100.0, tau=1.0, vol=0.25, rate=0.03)
    divs = [(0.3, 1.5), (0.8, 1.5)]
    assert american_price(**base, dividends=divs) < american_price(**base)
    assert american_price(**base, dividends=divs, is_call=False) > american_price(**base, is_call=False)
    # dividends outside (0, tau) are already paid or paid after expiry
    assert american_price(**base, dividends=[(-0.1, 5.0), (1.5, 5.0)]) == american_price(**base)
    flat = ZeroCurve([0.5, 2.0], [0.03, 0.03])
    kw = {k: v for k, v in base.items() if k != "rate"}
    assert american_price(**kw, rate=flat, dividends=divs, is_call=False) == pytest.approx(
        american_price(**base, dividends=divs, is_call=False), rel=1e-13)
    # an upward-sloping curve with the same zero rate to expiry: higher short rates early make
    # early exercise of the put worth more than the same flat rate does
    steep = ZeroCurve([0.1, 1.0], [0.06, 0.03])
    assert american_price(**kw, rate=steep, is_call=False) != american_price(**base, is_call=False)


def test_threads_do_not_change_results():
    strikes = np.linspace(80, 120, 9)
    one = american_price(100.0, strikes, 0.5, 0.3, rate=0.05, is_call=False, threads=1, dividends=[(0.2, 1.0)])
    two = american_price(100.0, strikes, 0.5, 0.3, rate=0.05, is_call=False, threads=2, dividends=[(0.2, 1.0)])
    np.testing.assert_array_equal(one, two)


def test_implied_vol_statuses():
    kw = dict(rate=0.05, is_call=False)
    price = american_price(100.0, 100.0, 0.5, 0.3, **kw)
    vol, status = american_implied_vol(
        [price, 9.0, 20.0, 110.0, np.nan, -1.0, price], 100.0, [100.0, 110.0, 120.0, 100.0, 100.0, 100.0, 100.0],
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0], **kw, return_status=True)
    assert vol[0] == pytest.approx(0.3, abs=1e-8) and status[0] == IVStatus.OK
    assert status[1] == IVStatus.BELOW_INTRINSIC and np.isnan(vol[1])  # below K - S = 10
    assert status[2] == IVStatus.EARLY_EXERCISE and np.isnan(vol[2])  # exactly K - S: exercised at once
    assert status[3] == IVStatus.ABOVE_UPPER_BOUND  # a put is worth less than its strike
    assert list(status[4:]) == [IVStatus.INVALID_INPUT] * 3
    # time value below the pricer's absolute accuracy (1e-9 of the strike)
    assert american_implied_vol(1e-12, 100.0, 150.0, 0.5, rate=0.05, return_status=True)[1] == \
        IVStatus.BELOW_PRICE_ACCURACY
    assert american_implied_vol(50.0, 100.0, 200.0, 0.01, rate=0.05, return_status=True)[1] == \
        IVStatus.ABOVE_UPPER_BOUND


def test_out_of_domain_prices_are_nan():
    out = american_price([np.nan, -100.0, 100.0, 100.0, 100.0], [100.0, 100.0, 0.0, 100.0, 100.0],
                         [1.0, 1.0, 1.0, 0.0, 1.0], [0.2, 0.2, 0.2, 0.2, np.inf], rate=0.01)
    assert np.isnan(out).all()


@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(spot=[1.0, 2.0], strike=[1.0, 2.0, 3.0]), "shapes"),
    (dict(dividends=[1.0, 2.0, 3.0]), "dividends"),
    (dict(dividends=[(0.5, -1.0)]), "dividends"),
    (dict(dividends=[(np.nan, 1.0)]), "dividends"),
    (dict(dividends="x"), "dividends"),
    (dict(is_call="straddle"), "is_call"),
    (dict(threads=0), "threads"),
    (dict(grid=(4, 4)), "grid"),
    (dict(grid="fine"), "grid"),
    (dict(rate="abc"), "rate"),
])
def test_malformed_calls_raise_naming_the_argument(kwargs, name):
    args = dict(spot=100.0, strike=100.0, tau=1.0, vol=0.2, rate=0.01) | kwargs
    with pytest.raises(ValueError, match=name):
        american_price(**args)
    iv_args = {k: v for k, v in args.items() if k != "vol"}
    with pytest.raises(ValueError, match=name):
        american_implied_vol(5.0, **iv_args)


@pytest.mark.parametrize(("times", "rates", "name"), [
    ([1.0, 0.5], [0.01, 0.02], "times"), ([1.0], [0.01, 0.02], "zero_rates"), ([0.0], [0.01], "times"),
    ([1.0], [np.nan], "zero_rates")])
def test_bad_zero_curve(times, rates, name):
    with pytest.raises(ValueError, match=name):
        ZeroCurve(times, rates)


def test_spot_model_forward_matches_the_pricers_parity():
    # European parity of the spot model: the forward is what the dividends leave of S e^{rT}.
    divs = [(0.25, 1.0), (0.75, 1.0), (1.5, 9.0)]
    fwd, df = ivfast.american.spot_model_forward(100.0, 1.0, rate=0.04, dividends=divs)
    expected = 100.0 * math.exp(0.04) - math.exp(0.04 * 0.75) - math.exp(0.04 * 0.25)
    assert fwd == pytest.approx(expected, rel=1e-15) and df == pytest.approx(math.exp(-0.04), rel=1e-15)


@settings(max_examples=25, deadline=None)
@given(log_moneyness=st.floats(-0.4, 0.4), tau=st.floats(0.02, 2.0), vol=st.floats(0.05, 1.0),
       rate=st.floats(-0.01, 0.08), is_call=st.booleans(), cash=st.floats(0.0, 3.0))
def test_round_trip_price_vol_price(log_moneyness, tau, vol, rate, is_call, cash):
    strike = 100.0 * math.exp(log_moneyness)
    divs = [(tau / 3, cash), (2 * tau / 3, cash)]
    price = american_price(100.0, strike, tau, vol, rate=rate, dividends=divs, is_call=is_call)
    iv, status = american_implied_vol(price, 100.0, strike, tau, rate=rate, dividends=divs, is_call=is_call,
                                      return_status=True)
    intrinsic = max(100.0 - strike if is_call else strike - 100.0, 0.0)
    if price <= 0.0:  # far out of the money at a low vol: a zero price is no price
        assert status == IVStatus.INVALID_INPUT
        return
    if price - intrinsic < 1e-9 * strike:  # exercised at once, or no time value the pricer resolves
        assert status in (IVStatus.EARLY_EXERCISE, IVStatus.BELOW_PRICE_ACCURACY)
        return
    assert status == IVStatus.OK
    again = american_price(100.0, strike, tau, iv, rate=rate, dividends=divs, is_call=is_call)
    # The inversion stops at 1e-10 of the price or a 1e-9 relative bracket in volatility.
    vega_bound = abs(american_price(100.0, strike, tau, vol * 1.001, rate=rate, dividends=divs, is_call=is_call)
                     - price) / (0.001 * vol)
    assert abs(again - price) <= 1e-10 * price + 2e-9 * iv * vega_bound


def test_scalar_inputs_give_floats_with_a_curve_too():
    curve = ZeroCurve([0.25, 1.0], [0.04, 0.045])
    assert isinstance(american_price(100.0, 100.0, 0.5, 0.25, rate=curve), float)
    assert isinstance(american_implied_vol(8.0, 100.0, 100.0, 0.5, rate=curve, is_call=False), float)
