"""Closed-form test surfaces shared by the arbitrage tests (no ivfast code, so they check it).

Raw SVI per slice, SSVI with a power-law phi, and Axel Vogt's slice with known butterfly arbitrage.
"""

from __future__ import annotations

import numpy as np

# Gatheral & Jacquier (2014), section 3.1: Axel Vogt's raw SVI slice (tau = 1) with butterfly arbitrage.
VOGT = dict(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)


def raw_svi(k, a, b, rho, m, sigma):
    """Raw SVI w(k) and its first two k-derivatives."""
    x = k - m
    r = np.sqrt(x * x + sigma * sigma)
    return a + b * (rho * x + r), b * (rho + x / r), b * sigma**2 / r**3


class RawSVISlices:
    """Raw SVI slices at maturities tau_i, linear in total variance between them and from w = 0
    at tau = 0; past the last slice w scales with tau. Analytic derivatives."""

    def __init__(self, taus, params):
        self.taus = np.asarray(taus, dtype=float)
        self.params = list(params)

    def total_variance_derivatives(self, k, tau):
        k, tau = np.broadcast_arrays(np.asarray(k, float), np.asarray(tau, float))
        slices = [np.zeros((3,) + k.shape)] + [np.array(raw_svi(k, **p)) for p in self.params]
        knots = np.concatenate([[0.0], self.taus])
        i = np.clip(np.searchsorted(knots, tau), 1, knots.size - 1)
        t0, t1 = knots[i - 1], knots[i]
        lo = np.choose(i - 1, slices)
        hi = np.choose(i, slices)
        lam = (tau - t0) / (t1 - t0)
        w, dw, d2w = (1 - lam) * lo + lam * hi
        dtau = (hi[0] - lo[0]) / (t1 - t0)
        return w, dw, d2w, dtau

    def total_variance(self, k, tau):
        return self.total_variance_derivatives(k, tau)[0]

    def implied_vol(self, k, tau):
        return np.sqrt(self.total_variance(k, tau) / tau)


class SSVI:
    """SSVI (GJ 2014, section 4) with power-law phi and ATM total variance theta = v^2 tau + c tau^2.

    Written with psi = theta phi(theta) = eta theta^(1-gamma) (1+theta)^(gamma-1) so that tau = 0 gives w = 0.
    """

    def __init__(self, rho=-0.7, eta=1.1, gamma=0.4, v=0.2, c=0.01):
        self.rho, self.eta, self.gamma, self.v, self.c = rho, eta, gamma, v, c

    def total_variance_derivatives(self, k, tau):
        k, tau = np.broadcast_arrays(np.asarray(k, float), np.asarray(tau, float))
        rho, g = self.rho, self.gamma
        th = self.v**2 * tau + self.c * tau**2
        dth = self.v**2 + 2 * self.c * tau
        psi = self.eta * th ** (1 - g) * (1 + th) ** (g - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            dpsi = np.where(th > 0, psi * (1 - g) / (th * (1 + th)), 0.0)
        u = psi * k + rho * th
        s = np.sqrt(u * u + th * th * (1 - rho**2))
        w = 0.5 * (th + rho * psi * k + s)
        with np.errstate(divide="ignore", invalid="ignore"):
            dw = 0.5 * (rho * psi + psi * u / s)
            d2w = 0.5 * psi**2 * th**2 * (1 - rho**2) / s**3
            ds = (u * (dpsi * k + rho) + th * (1 - rho**2)) / s
        dtau = 0.5 * (1 + rho * dpsi * k + ds) * dth
        return w, dw, d2w, dtau

    def total_variance(self, k, tau):
        return self.total_variance_derivatives(k, tau)[0]

    def implied_vol(self, k, tau):
        return np.sqrt(self.total_variance(k, tau) / tau)
