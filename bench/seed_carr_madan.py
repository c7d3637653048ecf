"""The seed's Bates pricer re-implemented in NumPy for benchmarking: the baseline users have today.

Carr–Madan with N = 2^14 points, integration limit B = 1000, Simpson weights, four dampings
(0.4, 0.5, 0.7, 1), linear interpolation of the FFT output onto the log-strikes and the median over
the dampings; the characteristic function in the cosh/sinh form. Spot 1, r = q = 0 conventions as
in the seed (prices per unit spot, discounted at ``rate``).
"""

from __future__ import annotations

import numpy as np

N, B = 2**14, 1000.0
DAMPINGS = np.array([0.4, 0.5, 0.7, 1.0])


def bates_cf(u, tau, v0, kappa, theta, sigma, rho, lam, beta, alpha, rate=0.0):
    """E[exp(i u ln S_T)] with S_0 = 1 in the cosh/sinh form (overflows for large |u| tau)."""
    iu = 1j * u
    jumps = tau * lam * (np.exp(-0.5 * u**2 * alpha**2 + iu * (np.log1p(beta) - 0.5 * alpha**2)) - 1)
    a = kappa - iu * rho * sigma
    gamma = np.sqrt(sigma**2 * (u**2 + iu) + a**2)
    half = 0.5 * gamma * tau
    c = kappa * theta / sigma**2
    ch, sh = np.cosh(half), np.sinh(half)
    log_phi = (jumps + c * tau * a + iu * tau * (rate - lam * beta) - (u**2 + iu) * v0 / (gamma * ch / sh + a)
               - 2 * c * np.log(ch + a / gamma * sh))
    return np.exp(log_phi)


def seed_call_surface(params, strikes, taus, rate=0.0):
    """Call prices (n_tau, n_strike) by the seed's method; params = (v0, kappa, theta, sigma, rho, lam, beta, alpha)."""
    du = B / N
    u = (np.arange(N) * du)[None, :, None]
    weights = (3 + (-1) ** (np.arange(N) + 1)).astype(float)
    weights[0] = 1
    dk = 2 * np.pi / (du * N)
    k_grid = -N * dk / 2 + dk * np.arange(N)
    t = np.asarray(taus, float)[:, None, None]
    a = DAMPINGS[None, None, :]
    with np.errstate(all="ignore"):  # the seed's cf overflows to NaN for some parameter sets
        denominator = a**2 + a - u**2 + 1j * (2 * a + 1) * u
        psi = np.exp(-rate * t) * bates_cf(u - (a + 1) * 1j, t, *params, rate=rate) / denominator
        integrand = np.exp(1j * N * dk / 2 * u) * psi * weights[None, :, None] * du / (3 * np.pi)
        spectrum = np.fft.fft(integrand, axis=1)
        damped = np.exp(-a * k_grid[None, :, None]) * spectrum.real
    log_k = np.log(np.asarray(strikes, float))
    prices = np.empty((len(taus), len(DAMPINGS), len(strikes)))
    for i in range(len(taus)):
        for j in range(len(DAMPINGS)):
            prices[i, j] = np.interp(log_k, k_grid, damped[i, :, j])
    return np.median(prices, axis=1)
