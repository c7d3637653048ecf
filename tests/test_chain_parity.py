"""Robust put-call-parity regression and rate pooling (ivfast.chain.parity)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivfast.chain import parity


def _pairs(forward, discount, strikes, noise=None):
    diff = discount * (forward - strikes)
    if noise is not None:
        diff = diff + noise
    # Split C - P into positive legs; only the difference matters to the fit.
    calls = np.maximum(diff, 0.0) + 1.0
    puts = calls - diff
    return calls, puts


@settings(max_examples=60, deadline=None)
@given(forward=st.floats(5.0, 5000.0), discount=st.floats(0.6, 1.05), n=st.integers(6, 60),
       frac_bad=st.floats(0.0, 0.2), seed=st.integers(0, 2**31 - 1))
def test_exact_parity_with_outliers_is_recovered(forward, discount, n, frac_bad, seed):
    rng = np.random.default_rng(seed)
    strikes = np.sort(forward * np.exp(rng.uniform(-0.3, 0.3, n)))
    strikes = np.unique(np.round(strikes, 6))
    noise = np.zeros(strikes.size)
    bad = rng.choice(strikes.size, int(frac_bad * strikes.size), replace=False)
    noise[bad] = rng.choice([-1, 1], bad.size) * rng.uniform(0.01, 0.2, bad.size) * forward
    calls, puts = _pairs(forward, discount, strikes, noise)
    spread = np.full(strikes.size, 0.01)
    fit = parity.fit_parity(strikes, calls, puts, spread, spread, 1.0, window=10.0, min_pairs=5)
    if strikes.size < 5:
        assert fit is None
        return
    # At most 20 % gross outliers (repeated median breaks down at 50 %): the clean pairs are
    # exact, so F and D come back to rounding (1e-9 leaves room for cancellation in C - P).
    assert fit.forward == pytest.approx(forward, rel=1e-9)
    assert fit.discount == pytest.approx(discount, rel=1e-9)
    assert np.all(fit.weights[bad] == 0)


def test_gaussian_noise_gives_errors_consistent_with_the_standard_error():
    rng = np.random.default_rng(11)
    strikes = np.arange(80.0, 121.0, 1.0)
    z = []
    for _ in range(200):
        calls, puts = _pairs(101.0, 0.98, strikes, rng.normal(0.0, 0.01, strikes.size))
        spread = np.full(strikes.size, 0.02)
        fit = parity.fit_parity(strikes, calls, puts, spread, spread, 1.0, window=1.0)
        z.append((fit.discount - 0.98) / fit.discount_se)
    # Tukey weights lose ~5 % efficiency; the z-scores should still have sd close to 1.
    assert 0.8 < np.std(z) < 1.3 and abs(np.mean(z)) < 0.3


def test_window_keeps_near_the_money_pairs_and_widens_to_min_pairs():
    strikes = np.arange(50.0, 151.0, 5.0)
    calls, puts = _pairs(100.0, 0.99, strikes)
    zero = np.zeros(strikes.size)
    fit = parity.fit_parity(strikes, calls, puts, zero, zero, 0.04, window=0.5, min_pairs=3)  # |ln K/F| <= 0.1
    assert fit.strikes.min() >= 100 * np.exp(-0.1) and fit.strikes.max() <= 100 * np.exp(0.1)
    fit = parity.fit_parity(strikes, calls, puts, zero, zero, 0.04, window=0.01, min_pairs=6)
    assert fit.n_pairs == 6


def test_too_few_pairs_or_nonsense_gives_none():
    k = np.array([90.0, 100.0, 110.0])
    assert parity.fit_parity(k, [11, 2, 0.5], [1, 2, 10.5], [0.1] * 3, [0.1] * 3, 0.5, min_pairs=5) is None
    k = np.arange(90.0, 111.0, 5.0)
    calls, puts = _pairs(100.0, 0.99, k)
    # C - P increasing in K: negative discount factor -> no fit
    assert parity.fit_parity(k, puts, calls, np.zeros(5), np.zeros(5), 0.5) is None


def test_forward_given_discount_reproduces_exact_forward():
    k = np.arange(90.0, 111.0, 2.0)
    calls, puts = _pairs(100.5, 0.97, k)
    fit = parity.fit_parity(k, calls, puts, np.zeros(k.size), np.zeros(k.size), 0.5)
    assert fit.forward_given(0.97) == pytest.approx(100.5, rel=1e-13)


def test_pooling_keeps_a_flat_curve_and_lends_precision_to_short_expiries():
    taus = np.array([0.01, 0.1, 0.5, 1.0, 2.0])
    true = np.exp(-0.04 * taus)
    ses = np.array([1e-3, 1e-4, 3e-5, 2e-5, 2e-5])
    assert np.allclose(parity.pool_discounts(taus, true, ses), true, rtol=1e-14, atol=0)
    shaky = true.copy()
    shaky[0] *= 1.002  # a 20 % rate error at 1 week, well inside its own 1e-3 se
    pooled = parity.pool_discounts(taus, shaky, ses)
    assert abs(pooled[0] / true[0] - 1) < 2e-5  # borrowed the neighbours' rate
    assert np.allclose(pooled[2:], true[2:], rtol=1e-6)


def test_curve_forward_and_callable_curves():
    f, d = parity.curve_forward(100.0, 0.5, 0.04, lambda t: 0.01 + 0 * t)
    assert f == pytest.approx(100 * np.exp(0.03 * 0.5), rel=1e-15) and d == pytest.approx(np.exp(-0.02), rel=1e-15)
    assert parity.curve_forward(None, 0.5, 0.04, 0.01) is None
    with pytest.raises(ValueError, match="rate"):
        parity.curve_forward(100.0, 0.5, lambda t: np.nan, 0.0)


def test_a_majority_of_wide_biased_pairs_does_not_move_the_forward():
    # SPY 2025-10-09 in miniature: $5 strikes, 7 tight pairs at the money (1-3 cent legs) and
    # 23 pairs with a $3.2-wide in-the-money leg whose mids lean one way (their implied forward
    # sits 0.4-0.8 low). The forward must come from the tight pairs, to within their noise.
    rng = np.random.default_rng(3)
    strikes = np.arange(585.0, 731.0, 5.0)
    tight = (strikes >= 630) & (strikes <= 660)
    noise = np.where(tight, rng.normal(0.0, 0.005, strikes.size), -rng.uniform(0.4, 0.8, strikes.size))
    calls, puts = _pairs(659.28, 0.9984, strikes, noise)
    call_spread = np.where(strikes < 630, 3.2, 0.01)
    put_spread = np.where(strikes > 660, 3.2, 0.02)
    fit = parity.fit_parity(strikes, calls, puts, call_spread, put_spread, 0.0384, window=1.0)
    # 7 pairs of 0.005 noise: the forward's standard error is ~0.002; 0.02 is 10 of them.
    assert fit.forward == pytest.approx(659.28, abs=0.02)
    assert np.all(fit.weights[tight] > 0)
