"""Refinement of the network's SSVI parameters on the quotes, inside the no-arbitrage set.

The network gives unconstrained reals ``z_net``; a few Levenberg-Marquardt steps minimise

    sum_i w_i ((sigma_SSVI(k_i, tau_i; z) - sigma_i) / sigma_i)^2 + (c^2 / n) |z - z_net|^2

over the same unconstrained reals, mapped by :func:`ivfast.svi.ssvi.power_law_from_raw`, so every
iterate (and the result) stays in Gatheral & Jacquier's sufficient no-arbitrage set: the
refinement can only improve the fit, never break the certificate. The second term is a prior
centred on the network's output whose weight falls with the number of quotes n: from a handful
of quotes the network's answer dominates, from hundreds the quotes do.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..svi.atm import SoftplusCurve
from ..svi.ssvi import power_law_from_raw, power_law_phi, ssvi_total_variance

__all__ = ["PRIOR_SCALE", "ssvi_vols", "refine"]

PRIOR_SCALE = 0.05
"""c above: with 9 quotes a unit change of a raw parameter costs as much as a 1.7 % vol error on
every quote; with 500 quotes as much as 0.2 %."""

_MAX_NFEV = 60
"""Function evaluations of the refinement (about 15 Levenberg-Marquardt steps of 3 parameters)."""


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


def refine(raw: NDArray[np.float64], k: NDArray[np.float64], tau: NDArray[np.float64], iv: NDArray[np.float64],
           weights: NDArray[np.float64], curve: SoftplusCurve, steps: int = _MAX_NFEV) -> NDArray[np.float64]:
    """Refine unconstrained SSVI parameters on the quotes (module docstring).

    Parameters
    ----------
    raw : ndarray, shape (3,)
        The network's ``(raw_rho, raw_gamma, raw_eta)``; the start and the prior's centre.
    k, tau, iv : ndarray, shape (n,)
        The quotes.
    weights : ndarray, shape (n,)
        Quote weights summing to 1.
    curve : SoftplusCurve
        The fixed ATM curve.
    steps : int
        Function-evaluation budget (0: return ``raw`` unchanged).

    Returns
    -------
    ndarray, shape (3,)
        The refined parameters (``raw`` itself if the refinement gives no finite improvement).
    """
    raw = np.asarray(raw, dtype=np.float64)
    if steps <= 0:
        return raw
    from scipy.optimize import least_squares  # deferred: scipy.optimize is slow to import

    theta = curve(tau)[0]
    sw = np.sqrt(weights)
    prior = PRIOR_SCALE / np.sqrt(k.size)

    def residuals(z: NDArray[np.float64]) -> NDArray[np.float64]:
        model = ssvi_vols(np.clip(z, -30.0, 30.0), k, theta, tau)
        return np.r_[sw * (model - iv) / iv, prior * (z - raw)]

    start_cost = float(np.sum(residuals(raw) ** 2))
    result = least_squares(residuals, raw, method="lm", max_nfev=max(steps, 4), x_scale=1.0)
    z = np.clip(result.x, -30.0, 30.0)
    cost = float(np.sum(residuals(z) ** 2))
    return z if np.isfinite(cost) and cost <= start_cost else raw
