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
