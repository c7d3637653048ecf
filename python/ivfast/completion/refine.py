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
from ..svi.ssvi import power_law_from_raw, power_law_phi, ssvi_total_variance

__all__ = ["PRIOR_SCALE", "ssvi_vols", "refine"]

PRIOR_SCALE = 0.05
"""c above: with 9 quotes a unit change of a raw parameter costs as much as a 1.7 % vol error on
every quote; with 500 quotes as much as 0.2 %."""

_MAX_NFEV = 20
"""Levenberg-Marquardt residual evaluations, not counting the forward-difference Jacobians
(measured on held-out synthetic surfaces: 20 reach most of the gain of 200 at a tenth of the time)."""
_FD_STEP = 1.5e-8
"""Relative forward-difference step of the Jacobian (about sqrt of the float64 epsilon)."""
_MIN_SLOPE = 1e-3
"""Curve slopes fitted as 0 (flat pieces) start from this, so that their logarithm is finite."""


def ssvi_vols(raw: NDArray[np.float64], k: NDArray[np.float64], theta: NDArray[np.float64],
              tau: NDArray[np.float64]) -> NDArray[np.float64]:
    """Implied vols of the power-law SSVI with unconstrained parameters ``raw``.

    Parameters
    ----------
    raw : ndarray, shape (3,)
        ``(raw_rho, raw_gamma, raw_eta)``.
    k, theta, tau : ndarray
        Log-moneyness, ATM total variance theta(tau) and years, broadcastable.

    Returns
    -------
    ndarray
        ``sqrt(w_SSVI / tau)``.
    """
    rho, gamma, eta = power_law_from_raw(raw[0], raw[1], raw[2])
    phi = power_law_phi(theta, eta, gamma)[0]
    return np.sqrt(ssvi_total_variance(k, theta, phi, rho) / tau)


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
    # softplus_log_curve with the knots fixed, for many parameter vectors at once: its softplus
    # basis does not change during the refinement.
    basis = _xp.softplus((u[:, None] - curve.knots) / curve.width)
    ramp = u - curve.knots[0]

    def residuals_many(z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Residuals of parameter vectors ``z`` (m, P) -> (m, n + 3)."""
        params = np.clip(z[:, :3], -30.0, 30.0).T[:, :, None]
        slopes = np.exp(np.clip(z[:, 4:], -30.0, 5.0))
        h = z[:, 3:4] + slopes[:, :1] * ramp + curve.width * (np.diff(slopes, axis=1) @ basis.T)
        model = ssvi_vols(params, k, np.exp(h), tau)
        return np.concatenate([sw * (model - iv) / iv, prior * (z[:, :3] - raw)], axis=1)

    def residuals(z: NDArray[np.float64]) -> NDArray[np.float64]:
        return residuals_many(z[None])[0]

    def jacobian(z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Forward differences, all parameters in one batched evaluation."""
        step = _FD_STEP * np.maximum(1.0, np.abs(z))
        values = residuals_many(np.vstack([z, z + np.diag(step)]))
        return ((values[1:] - values[0]) / step[:, None]).T

    z0 = np.r_[raw, curve.offset, np.log(np.maximum(_slopes(curve), _MIN_SLOPE))]
    start_cost = float(np.sum(residuals(z0) ** 2))
    result = least_squares(residuals, z0, jac=jacobian, method="lm", max_nfev=max(steps, z0.size + 1),
                           x_scale=1.0)
    cost = float(np.sum(residuals(result.x) ** 2))
    if not (np.isfinite(cost) and cost <= start_cost):
        return raw, curve
    return np.clip(result.x[:3], -30.0, 30.0), _curve(curve, result.x[3], result.x[4:])
