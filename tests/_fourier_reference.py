"""Independent reference prices for the Fourier pricer tests (NumPy / mpmath, no ivfast code).

test_pricing_reference.py checks this reference against 20-digit mpmath.

Out-of-the-money prices by direct integration of the damped Fourier integral, one optimally damped
contour per strike (Lord & Kahl 2007): calls with damping a > 0, puts with a < -1 (the residues at
the two poles turn the call integral into the put's), composite 48-point Gauss–Legendre on panels
that follow the integrand's decay, until the remaining tail is below 1e-18. The characteristic
function is written afresh (NumPy or mpmath arithmetic) in the Albrecher et al. (2007) form; an
mpmath quadrature at 20 digits spot-checks the integral.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

_GL_X, _GL_W = np.polynomial.legendre.leggauss(48)


def log_cf_bates(u, tau, v0, kappa, theta, sigma, rho, lam=0.0, beta=0.0, alpha=0.0, lib=np):
    """ln E[exp(i u x)], x = ln(S_T/F), Albrecher et al. (2007) form; u complex (NumPy array, or an
    mpmath number with ``lib=mp`` and mpf parameters)."""
    if lib is np:
        u = np.asarray(u, dtype=complex)
    iu = 1j * u
    b = kappa - rho * sigma * iu
    d = lib.sqrt(b * b + sigma**2 * (iu + u * u))
    g = (b - d) / (b + d)
    em = lib.exp(-d * tau)
    c = kappa * theta / sigma**2 * ((b - d) * tau - 2 * lib.log((1 - g * em) / (1 - g)))
    dterm = (b - d) / sigma**2 * (1 - em) / (1 - g * em)
    mu = lib.log(1 + beta) - alpha**2 / 2
    jumps = lam * tau * (lib.exp(iu * mu - alpha**2 * u * u / 2) - 1 - beta * iu)
    return c + v0 * dterm + jumps


def _log_moment(p, tau, params):
    # small step off the real axis avoids 0/0 at the removable points; result is real
    val = log_cf_bates(np.array([-1j * p]), tau, *params)[0]
    return val.real


def _explosion_ok(p, tau, kappa, sigma, rho):
    """Andersen–Piterbarg: E[S^p] finite up to 3 tau (margin)."""
    if 0 <= p <= 1:
        return True
    k = kappa - rho * sigma * p
    disc = k * k - sigma**2 * p * (p - 1)
    if disc >= 0:
        if k >= 0:
            return True
        r = math.sqrt(disc)
        return math.log((k - r) / (k + r)) / r > 3 * tau
    r = math.sqrt(-disc)
    angle = math.atan(r / k) if k > 0 else (math.pi + math.atan(r / k) if k < 0 else math.pi / 2)
    return 2 * angle / r > 3 * tau


def _damping(k, tau, params, call):
    """Lord–Kahl damping: minimise -a k + ln M(a+1) - ln(a(a+1)) on a grid of moderate dampings
    (near a moment explosion the integrand is huge and cancels)."""
    kappa, sigma, rho = params[1], params[3], params[4]
    grid = np.geomspace(0.05, 4.0, 200) if call else -np.geomspace(1.05, 4.0, 200)
    with np.errstate(all="ignore"):  # huge jump moments overflow: such dampings are rejected
        log_m = log_cf_bates(-1j * (grid + 1), tau, *params).real
        h = -grid * k + log_m - np.log(grid * (grid + 1))
    ok = np.array([_explosion_ok(a + 1, tau, kappa, sigma, rho) for a in grid]) & np.isfinite(h) & (h < 700)
    return float(grid[ok][np.argmin(h[ok])])


def _log_psi(u, a, tau, params):
    return log_cf_bates(u - 1j * (a + 1), tau, *params) - np.log(a * a + a - u * u + 1j * (2 * a + 1) * u)


def otm_price(k, tau, params, panels_per_scale=1.0):
    """Undiscounted OTM price per unit forward at log-moneyness k (call if k >= 0, else put)."""
    a = _damping(k, tau, params, k >= 0)
    # truncate where |psi(u)| u e^{-a k}/pi < 1e-18 from there on (|psi| decays at least like 1/u^2)
    u = np.geomspace(1.0, 1e7, 400)
    with np.errstate(all="ignore"):
        tail = _log_psi(u, a, tau, params).real + np.log(u) - a * k - math.log(math.pi)
    above = np.flatnonzero(~(tail < math.log(1e-18)))
    upper = u[min(above[-1] + 1, u.size - 1)] if above.size else u[0]
    scale = math.sqrt(max(-8 * _log_moment(0.5, tau, params), 1e-12))
    width = min(1.0 / scale, 12.0 / max(abs(k), 0.05), 10.0) / panels_per_scale
    n_panels = int(math.ceil(upper / width))
    edges = np.linspace(0.0, n_panels * width, n_panels + 1)
    half = 0.5 * (edges[1] - edges[0])
    nodes = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half * _GL_X[None, :]
    f = (np.exp(-1j * nodes.ravel() * k + _log_psi(nodes.ravel(), a, tau, params))).real
    total = half * (f.reshape(nodes.shape) @ _GL_W).sum()
    return math.exp(-a * k) / math.pi * total, a


def mp_otm_price(k, tau, params, a, upper, dps=20):
    """mpmath spot check of :func:`otm_price` with the given damping on [0, upper] (20 digits)."""
    k, tau, a = mp.mpf(k), mp.mpf(tau), mp.mpf(a)
    with mp.workdps(dps):
        mp_params = [mp.mpf(x) for x in params]

        def f(u):
            z = u - 1j * (a + 1)
            log_psi = log_cf_bates(z, tau, *mp_params, lib=mp) - mp.log(a * a + a - u * u + 1j * (2 * a + 1) * u)
            return mp.re(mp.exp(-1j * u * k + log_psi))

        val = mp.quad(f, mp.linspace(0, upper, int(upper / 25) + 1))
        return float(mp.exp(-a * k) / mp.pi * val)
