"""Black-76 prices and vegas against 160-bit references and closed-form identities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

import ivfast
from ivfast.datasets import iv_stress_set

from ._reference import black_prices_hp


def _recipe(n, seed):
    strike, tau, sigma, is_call = iv_stress_set(n, seed)
    return 100.0, strike, tau, sigma, is_call


def test_prices_match_high_precision():
    forward, strike, tau, sigma, is_call = _recipe(5_000, seed=1)
    exact = black_prices_hp(forward, strike, tau, sigma, is_call)
    ours = ivfast.black_price(forward, strike, tau, sigma, is_call=is_call)
    mask = exact > 1e-300
    # Computing ln(F/K) in double perturbs K by ~eps, which moves the price by eps times its
    # strike elasticity kappa = |K dP/dK| / P (large deep out of the money); beyond that only a
    # few ulp of arithmetic are allowed.
    s = sigma * np.sqrt(tau)
    d2 = np.log(forward / strike) / s - s / 2
    dpdk = np.where(is_call, -ndtr(d2), ndtr(-d2))
    kappa = np.abs(strike * dpdk) / exact
    rel_err = np.abs(ours / exact - 1.0)
    eps = np.finfo(float).eps
    assert np.all(rel_err[mask] <= 16 * eps * (1.0 + kappa[mask])), np.max(rel_err[mask] / (eps * (1 + kappa[mask])))


def test_vega_matches_finite_difference_of_exact_price():
    rng = np.random.default_rng(2)
    strike, tau, sigma = rng.uniform(60, 160, 50), rng.uniform(0.05, 5, 50), rng.uniform(0.05, 1.0, 50)
    step = 1e-6
    up = black_prices_hp(100.0, strike, tau, sigma + step, True)
    down = black_prices_hp(100.0, strike, tau, sigma - step, True)
    fd = (up - down) / (2 * step)
    # Central difference: truncation O(step^2 * vomma) ~1e-12 relative, rounding ~1e-16/1e-6.
    np.testing.assert_allclose(ivfast.black_vega(100.0, strike, tau, sigma), fd, rtol=1e-8)


def test_zero_vol_is_discounted_intrinsic():
    prices = ivfast.black_price(100.0, [90.0, 110.0], 1.0, 0.0, is_call=[True, False], discount=0.9)
    np.testing.assert_allclose(prices, [9.0, 9.0], rtol=1e-15)


def test_forward_continuous_compounding():
    assert ivfast.forward(100.0, 2.0, rate=0.05, dividend=0.02) == pytest.approx(100.0 * np.exp(0.06), rel=1e-15)
    assert ivfast.forward([100.0, 50.0], [[1.0], [2.0]]).shape == (2, 2)


@pytest.mark.parametrize(
    "forward, strike, tau, vol, discount",
    [
        (0.0, 100.0, 1.0, 0.2, 1.0),
        (100.0, -1.0, 1.0, 0.2, 1.0),
        (100.0, 100.0, 0.0, 0.2, 1.0),
        (100.0, 100.0, 1.0, -0.2, 1.0),
        (100.0, 100.0, 1.0, np.nan, 1.0),
        (100.0, 100.0, 1.0, np.inf, 1.0),
        (100.0, 100.0, 1.0, 0.2, -1.0),
    ],
)
def test_invalid_inputs_give_nan(forward, strike, tau, vol, discount):
    assert np.isnan(ivfast.black_price(forward, strike, tau, vol, discount=discount))
    assert np.isnan(ivfast.black_vega(forward, strike, tau, vol, discount=discount))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="broadcast"):
        ivfast.black_price(np.ones(3), np.ones(2), 1.0, 0.2)
