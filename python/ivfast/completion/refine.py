"""Refinement of the network's SSVI parameters and the ATM curve on the quotes, inside the no-arbitrage set.

The network gives unconstrained reals ``z_net``; Levenberg-Marquardt steps minimise

    sum_i w_i ((sigma(k_i, tau_i; z, c) - sigma_i) / sigma_i)^2 + (c_p^2 / n) |z - z_net|^2

over the same unconstrained reals ``z``, mapped by :func:`ivfast.svi.ssvi.power_law_from_raw`,
and over the softplus ATM curve (:mod:`ivfast.svi.atm`) with its offset free and its slopes
``exp`` of free reals, so every iterate stays in Gatheral & Jacquier's sufficient no-arbitrage
set with a strictly increasing theta: the refinement can only improve the fit, never break the
certificate. (The curve's first fit to the quotes' ATM estimates interpolates w linearly in k
between the two quotes around the money, which misses the smile's curvature where strikes are
sparse; the joint fit removes that bias.) The second term is a prior centred on the network's
output whose weight falls with the number of quotes n: from a handful of quotes the network's
answer dominates, from hundreds the quotes do.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .. import _xp
from ..svi.atm import SoftplusCurve
from ..svi.ssvi import power_law_eta_max, power_law_from_raw, power_law_phi, ssvi_derivatives, ssvi_total_variance

__all__ = ["PRIOR_SCALE", "refine"]

PRIOR_SCALE = 0.05
"""c above: with 9 quotes a unit change of a raw parameter costs as much as a 1.7 % vol error on
every quote; with 500 quotes as much as 0.2 %."""

_MAX_NFEV = 20
"""Levenberg-Marquardt residual evaluations, not counting the forward-difference Jacobians
(measured on held-out synthetic surfaces: 20 reach most of the gain of 200 at a tenth of the time);
the Jacobian is in closed form (chain rule through :func:`ivfast.svi.ssvi.ssvi_derivatives` and
the raw-to-set map)."""
_MIN_SLOPE = 1e-3
"""Curve slopes fitted as 0 (flat pieces) start from this, so that their logarithm is finite."""


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


def _eta_max_gradient(rho: float, gamma: float) -> tuple[float, float]:
    """Derivatives of eta_max in rho and in gamma (:func:`ivfast.svi.ssvi.power_law_eta_max`).

    ``eta_max = min(A, B)``, ``A = 4/(1 + |rho|)``, ``B = 2/sqrt((1 + |rho|) f*)`` with
    ``d ln f*/d gamma = 2 ln((2 - 2 gamma)/(1 - 2 gamma))`` (0 where the floor of 1 - 2 gamma holds).
    """
    a = 4.0 / (1.0 + abs(rho))
    b = float(power_law_eta_max(rho, gamma))  # min(A, B)
    sign = float(np.sign(rho))
    if b >= a:  # the minimum is A
        return -a * sign / (1.0 + abs(rho)), 0.0
    e = 1.0 - 2.0 * gamma
    dlogf = 2.0 * np.log((2.0 - 2.0 * gamma) / e) if e > 1e-12 else 0.0
    return -0.5 * b * sign / (1.0 + abs(rho)), -0.5 * b * dlogf


def _slopes(curve: SoftplusCurve) -> NDArray[np.float64]:
    """Slopes (c_lo, c_1..c_(n-1), c_hi) of the curve's pieces (see :mod:`ivfast.svi.atm`)."""
    return np.r_[curve.slope_lo, curve.slope_lo + np.cumsum(curve.slope_changes)]


def _curve(base: SoftplusCurve, offset: float, log_slopes: NDArray[np.float64]) -> SoftplusCurve:
    slopes = np.exp(np.clip(log_slopes, -30.0, 5.0))
    return SoftplusCurve(base.knots, base.width, float(offset), float(slopes[0]), np.diff(slopes))


def refine(raw: NDArray[np.float64], k: NDArray[np.float64], tau: NDArray[np.float64], iv: NDArray[np.float64],
           weights: NDArray[np.float64], curve: SoftplusCurve, steps: int = _MAX_NFEV
           ) -> tuple[NDArray[np.float64], SoftplusCurve]:
    """Refine unconstrained SSVI parameters and the ATM curve on the quotes (module docstring).

    Parameters
    ----------
    raw : ndarray, shape (3,)
        The network's ``(raw_rho, raw_gamma, raw_eta)``; the start and the prior's centre.
    k, tau, iv : ndarray, shape (n,)
        The quotes.
    weights : ndarray, shape (n,)
        Quote weights summing to 1.
    curve : SoftplusCurve
        The ATM curve fitted to the quotes' ATM estimates (the start; knots stay fixed).
    steps : int
        Function-evaluation budget (0: return the start unchanged).

    Returns
    -------
    raw : ndarray, shape (3,)
        The refined parameters.
    curve : SoftplusCurve
        The refined ATM curve (positive, strictly increasing).
        Both are the start itself if the refinement gives no finite improvement.
    """
    raw = np.asarray(raw, dtype=np.float64)
    if steps <= 0:
        return raw, curve
    from scipy.optimize import least_squares  # deferred: scipy.optimize is slow to import

    sw = np.sqrt(weights)
    prior = PRIOR_SCALE / np.sqrt(k.size)
    u = np.log(tau)
    # softplus_log_curve with the knots fixed: its softplus basis does not change during the
    # refinement, so h is linear in the slopes, h = offset + slopes @ dh_dslopes.T.
    basis = _xp.softplus((u[:, None] - curve.knots) / curve.width)
    # (slopes[j+1] - slopes[j]) weighs basis column j: slope j enters columns j - 1 (+) and j (-).
    dh_dslopes = -curve.width * np.diff(np.c_[np.zeros(u.size), basis, np.zeros(u.size)], axis=1)
    dh_dslopes[:, 0] += u - curve.knots[0]
    scale = sw / iv
    n_raw = 3
    eye = prior * np.eye(n_raw, z_size := 4 + dh_dslopes.shape[1])

    def evaluate(z: NDArray[np.float64], jac: bool) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        p = np.clip(z[:n_raw], -30.0, 30.0)
        log_slopes = np.clip(z[4:], -30.0, 5.0)
        slopes = np.exp(log_slopes)
        theta = np.exp(z[3] + dh_dslopes @ slopes)
        rho, gamma, eta = power_law_from_raw(p[0], p[1], p[2])
        phi, dphi = power_law_phi(theta, eta, gamma)
        if not jac:
            vols = np.sqrt(ssvi_total_variance(k, theta, phi, rho) / tau)
            return np.r_[scale * (vols - iv), prior * (z[:n_raw] - raw)], None
        w, w_k, _, w_theta = ssvi_derivatives(k, theta, phi, dphi, rho)
        vols = np.sqrt(w / tau)
        dr_dw = scale / (2.0 * vols * tau)
        d_eta_max = _eta_max_gradient(float(rho), float(gamma))
        # w(k; theta, phi(theta; eta, gamma), rho): partials in rho, phi at fixed theta.
        x = phi * k
        w_rho = 0.5 * theta * x * (1.0 + 1.0 / np.sqrt((x + rho) ** 2 + 1.0 - rho * rho))
        w_phi = w_k * k / phi
        sig_eta = _sigmoid(p[2])
        d_rho = (1.0 - rho * rho) * (p[0] == z[0])
        d_gamma = gamma * (1.0 - 2.0 * gamma) * (p[1] == z[1])
        d_eta_raw = eta * (1.0 - sig_eta) * (p[2] == z[2])
        # phi = eta theta^-gamma (1 + theta)^(gamma - 1):
        # d phi/d eta = phi/eta, d phi/d gamma = phi ln((1 + theta)/theta).
        phi_eta, phi_gamma = phi / eta, phi * np.log1p(1.0 / theta)
        eta_rho, eta_gamma = sig_eta * d_eta_max[0], sig_eta * d_eta_max[1]
        out = np.empty((k.size + n_raw, z_size))
        out[:k.size, 0] = dr_dw * (w_rho + w_phi * phi_eta * eta_rho) * d_rho
        out[:k.size, 1] = dr_dw * w_phi * (phi_gamma + phi_eta * eta_gamma) * d_gamma
        out[:k.size, 2] = dr_dw * w_phi * phi_eta * d_eta_raw
        dr_dh = dr_dw * w_theta * theta
        out[:k.size, 3] = dr_dh
        out[:k.size, 4:] = dr_dh[:, None] * dh_dslopes * (slopes * (log_slopes == z[4:]))
        out[k.size:] = eye
        return np.r_[scale * (vols - iv), prior * (z[:n_raw] - raw)], out

    z0 = np.r_[raw, curve.offset, np.log(np.maximum(_slopes(curve), _MIN_SLOPE))]
    def residuals(z: NDArray[np.float64]) -> NDArray[np.float64]:
        return evaluate(z, False)[0]

    def jacobian(z: NDArray[np.float64]) -> NDArray[np.float64]:
        out = evaluate(z, True)[1]
        assert out is not None
        return out

    start_cost = float(np.sum(residuals(z0) ** 2))
    result = least_squares(residuals, z0, jac=jacobian, method="lm", max_nfev=max(steps, z0.size + 1),
                           x_scale=1.0)
    cost = float(np.sum(residuals(result.x) ** 2))
    if not (np.isfinite(cost) and cost <= start_cost):
        return raw, curve
    return np.clip(result.x[:3], -30.0, 30.0), _curve(curve, result.x[3], result.x[4:])
