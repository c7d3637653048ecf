"""Independent high-precision references for the tests (python-flint ball arithmetic).

Black-76 prices are evaluated at 160 bits from the *rounded* double inputs and rounded once
to double, so they are exact references for the inputs the library actually receives.
"""

from __future__ import annotations

import numpy as np
from flint import arb, ctx

ctx.prec = 160
_SQRT2 = arb(2).sqrt()


def _phi_cdf(z: arb) -> arb:
    return (-z / _SQRT2).erfc() / 2


def black_price_hp(forward: float, strike: float, tau: float, sigma: float, is_call: bool) -> float:
    """Undiscounted Black-76 price at 160 bits, rounded to the nearest double."""
    f, k, s = arb(float(forward)), arb(float(strike)), arb(float(sigma)) * arb(float(tau)).sqrt()
    d1 = (f / k).log() / s + s / 2
    d2 = d1 - s
    value = f * _phi_cdf(d1) - k * _phi_cdf(d2) if is_call else k * _phi_cdf(-d2) - f * _phi_cdf(-d1)
    return float(value.mid())


def black_prices_hp(forward, strike, tau, sigma, is_call) -> np.ndarray:
    """Vector of :func:`black_price_hp` over broadcast inputs."""
    args = np.broadcast_arrays(*(np.asarray(a) for a in (forward, strike, tau, sigma, is_call)))
    return np.array([black_price_hp(*row) for row in zip(*(a.ravel() for a in args))]).reshape(args[0].shape)


def iv_recipe(n: int, seed: int):
    """The issue's input recipe: returns F (scalar), K, tau, sigma, is_call arrays.

    sigma log-uniform on [0.01, 3]; tau log-uniform on [1/365, 10]; calls/puts 50/50;
    h = ln(F/K)/(sigma sqrt(tau)) uniform on [-5, 5], plus a 10% tail of always
    out-of-the-money rows with |h| uniform on [5, 20]; F = 100, K = F exp(-h sigma sqrt(tau)).
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
    forward = 100.0
    strike = forward * np.exp(-h * sigma * np.sqrt(tau))
    return forward, strike, tau, sigma, is_call
