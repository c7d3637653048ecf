"""Independent reference prices for the Fourier pricer tests (NumPy / mpmath, no ivfast code).

Out-of-the-money prices by direct integration of the damped Fourier integral, one optimally damped
contour per strike (Lord & Kahl 2007): calls with damping a > 0, puts with a < -1 (the residues at
the two poles turn the call integral into the put's), composite 48-point Gauss–Legendre on panels
that follow the integrand's decay, until the remaining tail is below 1e-18. The characteristic
function is written afresh in NumPy in the Albrecher et al. (2007) form; an mpmath version at 30
digits spot-checks the integral.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np

_GL_X, _GL_W = np.polynomial.legendre.leggauss(48)


def log_cf_bates(u, tau, v0, kappa, theta, sigma, rho, lam=0.0, beta=0.0, alpha=0.0):
    """ln E[exp(i u x)], x = ln(S_T/F), Albrecher et al. (2007) form; u complex (array)."""
    u = np.asarray(u, dtype=complex)
    iu = 1j * u
    b = kappa - rho * sigma * iu
    d = np.sqrt(b * b + sigma**2 * (iu + u * u))
    g = (b - d) / (b + d)
    em = np.exp(-d * tau)
    c = kappa * theta / sigma**2 * ((b - d) * tau - 2 * np.log((1 - g * em) / (1 - g)))
    dterm = (b - d) / sigma**2 * (1 - em) / (1 - g * em)
    mu = math.log1p(beta) - 0.5 * alpha**2
    jumps = lam * tau * (np.exp(iu * mu - 0.5 * alpha**2 * u * u) - 1 - beta * iu)
    return c + v0 * dterm + jumps


def _log_moment(p, tau, params):
    # small step off the real axis avoids 0/0 at the removable points; result is real
    val = log_cf_bates(np.array([-1j * p]), tau, *params)[0]
    return val.real


def _explosion_ok(p, tau, kappa, sigma, rho):
    """Andersen–Piterbarg: E[S^p] finite at 2 tau (margin)."""
    if 0 <= p <= 1:
        return True
    k = kappa - rho * sigma * p
    disc = k * k - sigma**2 * p * (p - 1)
    if disc >= 0:
        if k >= 0:
            return True
        r = math.sqrt(disc)
        return math.log((k - r) / (k + r)) / r > 2 * tau
    r = math.sqrt(-disc)
    angle = math.atan(r / k) if k > 0 else (math.pi + math.atan(r / k) if k < 0 else math.pi / 2)
    return 2 * angle / r > 2 * tau


def _damping(k, tau, params, call):
    kappa, sigma, rho = params[1], params[3], params[4]

    def h(a):
        p = a + 1
        if not _explosion_ok(p, tau, kappa, sigma, rho):
            return 1e300
        with np.errstate(all="ignore"):  # huge jump moments overflow: such dampings are rejected
            val = -a * k + _log_moment(p, tau, params) - math.log(a * (a + 1))
        return val if math.isfinite(val) and val < 700 else 1e300

    grid = np.geomspace(1e-3, 60.0, 400) if call else -np.geomspace(1.0 + 1e-3, 60.0, 400)
    return float(grid[int(np.argmin([h(a) for a in grid]))])


def _log_psi(u, a, tau, params):
    return log_cf_bates(u - 1j * (a + 1), tau, *params) - np.log(a * a + a - u * u + 1j * (2 * a + 1) * u)


def otm_price(k, tau, params, panels_per_scale=1.0):
    """Undiscounted OTM price per unit forward at log-moneyness k (call if k >= 0, else put)."""
    a = _damping(k, tau, params, k >= 0)
    log_bound = -a * k - math.log(math.pi)
    upper = 1.0
    # truncate where |psi(U)| U e^{-a k}/pi < 1e-18 (|psi| decays at least like 1/u^2 beyond)
    while (_log_psi(np.array([upper]), a, tau, params)[0].real + math.log(upper) + log_bound > math.log(1e-18)):
        upper *= 1.25
    scale = math.sqrt(max(-8 * _log_moment(0.5, tau, params), 1e-12))
    width = min(2.0 / scale, 12.0 / max(abs(k), 0.05), 20.0) / panels_per_scale
    n_panels = int(math.ceil(upper / width))
    edges = np.linspace(0.0, n_panels * width, n_panels + 1)
    half = 0.5 * (edges[1] - edges[0])
    nodes = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half * _GL_X[None, :]
    f = (np.exp(-1j * nodes.ravel() * k + _log_psi(nodes.ravel(), a, tau, params))).real
    total = half * (f.reshape(nodes.shape) @ _GL_W).sum()
    return math.exp(-a * k) / math.pi * total, a


def mp_otm_price(k, tau, params, a, dps=30):
    """mpmath spot check of :func:`otm_price` with the given damping (little-trap form, 30 digits)."""
    v0, kappa, theta, sigma, rho, lam, beta, alpha = (mp.mpf(x) for x in params)
    k, tau, a = mp.mpf(k), mp.mpf(tau), mp.mpf(a)
    with mp.workdps(dps):

        def log_cf(u):
            iu = 1j * u
            b = kappa - rho * sigma * iu
            d = mp.sqrt(b * b + sigma**2 * (iu + u * u))
            g = (b - d) / (b + d)
            e = mp.exp(-d * tau)
            heston = kappa * theta / sigma**2 * ((b - d) * tau - 2 * mp.log((1 - g * e) / (1 - g)))
            heston += v0 / sigma**2 * (b - d) * (1 - e) / (1 - g * e)
            mu = mp.log(1 + beta) - alpha**2 / 2
            return heston + lam * tau * (mp.exp(iu * mu - alpha**2 * u * u / 2) - 1 - beta * iu)

        def f(u):
            z = u - 1j * (a + 1)
            return mp.re(mp.exp(-1j * u * k + log_cf(z)) / (a * a + a - u * u + 1j * (2 * a + 1) * u))

        val = mp.quad(f, mp.linspace(0, 400, 41) + [mp.inf])
        return float(mp.exp(-a * k) / mp.pi * val)
