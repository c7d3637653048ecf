"""Reference data for the deep-smoothing tests: the seed's Bates experiment (spot 1, r = q = 0).

Maturities are the seed's exact year fractions (``ql.TimeGrid(2, 624)`` indices; the seed itself
inverted with maturities rounded to whole days, which costs up to 29 vol points at 3.5 days).
"""

from __future__ import annotations

import numpy as np
import pytest

REFERENCE_BATES = dict(alpha=0.7, beta=-0.03, kappa=0.5, v0=0.01, theta=0.0625, rho=-0.75, sigma=1.0, lam=0.2)
SUBSEQUENT_BATES = dict(alpha=0.5, beta=-0.04, kappa=0.4, v0=0.02, theta=0.05, rho=-0.65, sigma=0.8, lam=0.3)
"""The seed's reference model and its example 'subsequent model'."""

STRIKES = np.array([0.3, 0.4, 0.6, 0.8, 0.9, 0.95, 0.975, 1, 1.025, 1.05, 1.1, 1.2, 1.3, 1.5, 1.75, 2, 2.5, 3])
TAUS = np.array([3, 6, 12, 18, *(26 * x for x in range(1, 13)), 468, 624]) * (2.0 / 624.0)


def bates_quotes(params: dict = REFERENCE_BATES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, tau, iv) on the 18 x 18 grid from ivfast.call_prices + ivfast.implied_vol (flat, tau-major)."""
    import ivfast

    if not hasattr(ivfast, "call_prices") or not hasattr(ivfast, "BatesParams"):
        pytest.skip("ivfast.call_prices / ivfast.BatesParams (C++ Bates pricer) not available in this build")
    prices = ivfast.call_prices(ivfast.BatesParams(**params), STRIKES, TAUS, threads=1)
    kk, tt = np.meshgrid(STRIKES, TAUS)
    iv = np.asarray(ivfast.implied_vol(prices, 1.0, kk, tt, threads=1))
    return np.log(kk).ravel(), tt.ravel(), iv.ravel()
