"""Reference data for the deep-smoothing tests: the seed's Bates experiment.

``bates_call_lewis`` is an independent Bates (1996) pricer by Lewis's (2001) single-integral
formula with adaptive quadrature, used only to build development/test quotes while the C++
pricer ``ivfast.call_prices`` is not importable. Maturities are the seed's exact year fractions
(no rounding to days).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad

REFERENCE_BATES = dict(alpha=0.7, beta=-0.03, kappa=0.5, v0=0.01, theta=0.0625, rho=-0.75, sigma=1.0, lam=0.2)
SUBSEQUENT_BATES = dict(alpha=0.5, beta=-0.04, kappa=0.4, v0=0.02, theta=0.05, rho=-0.65, sigma=0.8, lam=0.3)
"""The seed's reference model and its example 'subsequent model' (spot 1, r = q = 0)."""

STRIKES = np.array([0.3, 0.4, 0.6, 0.8, 0.9, 0.95, 0.975, 1, 1.025, 1.05, 1.1, 1.2, 1.3, 1.5, 1.75, 2, 2.5, 3])
TAUS = np.array([3, 6, 12, 18, *(26 * x for x in range(1, 13)), 468, 624]) * (2.0 / 624.0)
"""18 strikes x 18 maturities: the seed's ``ql.TimeGrid(2, 624)`` indices, as exact year fractions."""


def bates_cf(u: complex, tau: float, p: dict) -> complex:
    """E[exp(iu ln(S_tau/F))] under Bates with lognormal jumps, ln(1+J) ~ N(ln(1+beta) - alpha^2/2, alpha^2)."""
    kappa, theta, sigma, rho, v0 = p["kappa"], p["theta"], p["sigma"], p["rho"], p["v0"]
    iu = 1j * u
    b = kappa - rho * sigma * iu
    d = np.sqrt(b * b + sigma * sigma * (iu + u * u))
    g = (b - d) / (b + d)
    e = np.exp(-d * tau)
    heston = (kappa * theta / sigma**2) * ((b - d) * tau - 2.0 * np.log((1.0 - g * e) / (1.0 - g)))
    heston += v0 / sigma**2 * (b - d) * (1.0 - e) / (1.0 - g * e)
    mu_j = np.log1p(p["beta"]) - 0.5 * p["alpha"] ** 2
    jumps = p["lam"] * tau * (np.exp(iu * mu_j - 0.5 * p["alpha"] ** 2 * u * u) - 1.0 - iu * p["beta"])
    return np.exp(heston + jumps)


def bates_call_lewis(strike: float, tau: float, p: dict, forward: float = 1.0) -> float:
    """Undiscounted call: ``F - sqrt(F K)/pi * int_0^inf Re[e^{iu ln(F/K)} phi(u - i/2)] / (u^2 + 1/4) du``."""
    x = np.log(forward / strike)

    def integrand(u: float) -> float:
        return (np.exp(1j * u * x) * bates_cf(u - 0.5j, tau, p)).real / (u * u + 0.25)

    integral, _ = quad(integrand, 0.0, np.inf, limit=1000, epsabs=1e-14, epsrel=1e-12)
    return forward - np.sqrt(forward * strike) / np.pi * integral


def bates_quotes_quad(params: dict = REFERENCE_BATES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, tau, iv) of the 18 x 18 reference grid from the quadrature pricer and ivfast.implied_vol."""
    import ivfast

    kk, tt = np.meshgrid(STRIKES, TAUS, indexing="xy")
    prices = np.array([bates_call_lewis(K, t, params) for K, t in zip(kk.ravel(), tt.ravel())])
    iv = ivfast.implied_vol(prices, 1.0, kk.ravel(), tt.ravel())
    return np.log(kk.ravel()), tt.ravel(), np.asarray(iv)
