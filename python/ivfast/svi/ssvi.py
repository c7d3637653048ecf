"""Surface SVI (SSVI): formulas and an arbitrage-free surface calibrator.

Reference: J. Gatheral and A. Jacquier (2014), "Arbitrage-free SVI volatility surfaces" ("GJ").
The PUBLISHED SSVI form (GJ Definition 4.1) is used:

    w(k, theta) = theta / 2 * (1 + rho phi(theta) k + sqrt((phi(theta) k + rho)^2 + 1 - rho^2)),

with theta(tau) the ATM total variance (a variant with sqrt(phi (k + rho)^2 + 1 - rho^2) under the
root, also in circulation, is not SSVI). The formula functions take NumPy arrays or torch
tensors: the deep-smoothing prior (:mod:`ivfast.surface.prior`) evaluates these same functions.

Conditions (GJ): Theorem 4.1 (no calendar arbitrage) needs theta non-decreasing and
0 <= d(theta phi)/dtheta <= phi (1 + sqrt(1 - rho^2)) / rho^2; Theorem 4.2 (no butterfly
arbitrage) needs theta phi (1 + |rho|) < 4 and theta phi^2 (1 + |rho|) <= 4 for all theta > 0.

- Power law phi = eta theta^-gamma (1 + theta)^(gamma - 1), 0 < gamma <= 1/2: theta phi
  increases to eta and phi <= phi (1 + sqrt(1 - rho^2))/rho^2 bounds its slope, so Theorem 4.1
  holds; sup_theta theta phi^2 = eta^2 f(gamma), f(gamma) = (1 - 2 gamma)^(1 - 2 gamma)
  (2 - 2 gamma)^(2 gamma - 2) (at theta = 1 - 2 gamma), so Theorem 4.2 holds iff
  eta <= eta_max = min(4/(1 + |rho|), 2/sqrt((1 + |rho|) f(gamma))). This contains GJ
  Corollary 4.1's simpler eta (1 + |rho|) <= 2.
- Heston-like phi = (1 - (1 - e^{-lam theta})/(lam theta))/(lam theta): lam >= (1 + |rho|)/4
  (GJ section 4.2).

:func:`ivfast.svi.fit_ssvi` (:mod:`ivfast.svi.ssvi_fit`) parameterises inside these sets, so every
fit is free of static arbitrage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import factorial

import numpy as np
from numpy.typing import ArrayLike

from .. import _xp
from .._xp import Array
from .._arrays import as_float_array
from .atm import MonotoneTheta
from .slices import VolFromTotalVariance

__all__ = [
    "ssvi_total_variance",
    "ssvi_derivatives",
    "power_law_phi",
    "power_law_eta_max",
    "power_law_from_raw",
    "heston_phi",
    "SSVI",
    "PHI_FUNCTIONS",
]


def ssvi_total_variance(k: Array, theta: Array, phi: Array, rho: Array) -> Array:
    """SSVI total variance w(k) (GJ Definition 4.1).

    Parameters
    ----------
    k : array_like or torch.Tensor
        Log-moneyness ``ln(K/F)``.
    theta, phi, rho : float, array_like or torch.Tensor
        ATM total variance theta(tau) (> 0), curvature phi(theta) (> 0) and skew rho (|rho| < 1),
        broadcastable with ``k``.

    Returns
    -------
    ndarray or torch.Tensor
        ``w = theta/2 (1 + rho phi k + sqrt((phi k + rho)^2 + 1 - rho^2))``, dimensionless; float64
        for NumPy inputs, a tensor for tensors (the deep-smoothing prior evaluates this function).
    """
    k, theta, phi, rho = _xp.as_arrays(k, theta, phi, rho)
    x = phi * k
    shifted = x + rho
    return 0.5 * theta * (1.0 + rho * x + _xp.sqrt(shifted * shifted + (1.0 - rho * rho)))


def ssvi_derivatives(k: Array, theta: Array, phi: Array, dphi: Array, rho: Array) -> tuple[Array, Array, Array, Array]:
    """SSVI total variance and its derivatives in k and theta, in closed form.

    Parameters
    ----------
    k, theta, phi, rho : array_like or torch.Tensor
        As in :func:`ssvi_total_variance`.
    dphi : float, array_like or torch.Tensor
        d phi / d theta, broadcastable with ``k``.

    Returns
    -------
    w, dw_dk, d2w_dk2, dw_dtheta : ndarray or torch.Tensor
        Total variance and its derivatives (float64 for NumPy inputs); multiply ``dw_dtheta`` by
        dtheta/dtau for dw/dtau.
    """
    k, theta, phi, dphi, rho = _xp.as_arrays(k, theta, phi, dphi, rho)
    x = phi * k
    shifted = x + rho
    root = _xp.sqrt(shifted * shifted + (1.0 - rho * rho))
    skew = rho + shifted / root  # d(rho x + root)/dx
    w = 0.5 * theta * (1.0 + rho * x + root)
    w_k = 0.5 * theta * phi * skew
    w_kk = 0.5 * theta * phi * phi * (1.0 - rho * rho) / root**3
    dw_dtheta = w / theta + 0.5 * theta * k * dphi * skew
    return w, w_k, w_kk, dw_dtheta


def power_law_phi(theta: Array, eta: Array, gamma: Array) -> tuple[Array, Array]:
    """Power-law curvature ``phi(theta) = eta theta^-gamma (1 + theta)^(gamma - 1)`` and d phi / d theta.

    Parameters
    ----------
    theta : array_like or torch.Tensor
        ATM total variance (> 0).
    eta, gamma : float or torch.Tensor
        Level (> 0) and decay (0 < gamma <= 1/2 for the no-arbitrage set).

    Returns
    -------
    phi, dphi_dtheta : ndarray or torch.Tensor
        phi(theta) and its derivative, shaped like ``theta``.
    """
    theta = _xp.as_arrays(theta)[0]
    phi = eta * theta ** (-gamma) * (1.0 + theta) ** (gamma - 1.0)
    return phi, phi * ((gamma - 1.0) / (1.0 + theta) - gamma / theta)


def power_law_eta_max(rho: Array, gamma: Array) -> Array:
    """Largest eta for which the power-law SSVI meets GJ Theorems 4.1 and 4.2 (0 < gamma <= 1/2).

    ``min(4/(1 + |rho|), 2/sqrt((1 + |rho|) f*))`` with
    ``f* = (1 - 2 gamma)^(1 - 2 gamma) (2 - 2 gamma)^(2 gamma - 2)`` (module docstring).

    Parameters
    ----------
    rho, gamma : float or torch.Tensor
        Skew (|rho| < 1) and power-law decay.

    Returns
    -------
    float or torch.Tensor
        eta_max; a tensor (differentiable) for tensor arguments.
    """
    abs_rho = abs(rho)
    # 1 - 2 gamma -> 0 at gamma = 1/2, where e^e -> 1: the floor keeps e^e and its gradient finite.
    e = _xp.clamp_min(1.0 - 2.0 * gamma, 1e-12)
    f_star = e**e * (2.0 - 2.0 * gamma) ** (-1.0 - e)
    return _xp.minimum(4.0 / (1.0 + abs_rho), 2.0 / _xp.sqrt((1.0 + abs_rho) * f_star))


def power_law_from_raw(raw_rho: Array, raw_gamma: Array, raw_eta: Array) -> tuple[Array, Array, Array]:
    """Map unconstrained reals onto the power-law no-arbitrage set (module docstring).

    ``rho = tanh(raw_rho)``, ``gamma = sigmoid(raw_gamma)/2``,
    ``eta = sigmoid(raw_eta) * eta_max(rho, gamma)``: every real input gives a surface that meets
    GJ Theorems 4.1 and 4.2 (with an increasing theta).

    Parameters
    ----------
    raw_rho, raw_gamma, raw_eta : float, ndarray or torch.Tensor
        Unconstrained parameters, broadcastable together (all NumPy or all torch).

    Returns
    -------
    rho, gamma, eta : ndarray or torch.Tensor
        Of the broadcast shape; differentiable for tensors.
    """
    raw_rho, raw_gamma, raw_eta = _xp.as_arrays(raw_rho, raw_gamma, raw_eta)
    rho = _xp.tanh(raw_rho)
    gamma = 0.5 * _xp.sigmoid(raw_gamma)
    return rho, gamma, _xp.sigmoid(raw_eta) * power_law_eta_max(rho, gamma)


# Taylor coefficients of phi(x) = (x + expm1(-x)) / x^2 = sum_j (-x)^j / (j + 2)!; 22 terms
# reach 1/24! ~ 2e-24 at x = 1, below double precision.
_HESTON_SERIES = np.array([(-1.0) ** j / factorial(j + 2) for j in range(22)])


def heston_phi(theta: ArrayLike, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Heston-like curvature phi(theta) = (1 - (1 - e^{-x})/x) / x, x = lam theta, and d phi / d theta.

    Uses the Taylor series for x < 1, where the closed form cancels catastrophically (NumPy only).

    Parameters
    ----------
    theta : array_like
        ATM total variance (> 0).
    lam : float
        Rate lambda (> 0; lam >= (1 + |rho|)/4 for no butterfly arbitrage, GJ section 4.2).

    Returns
    -------
    phi, dphi_dtheta : ndarray
        phi(theta) and its derivative (float64), shaped like ``theta``.
    """
    x = lam * np.asarray(theta, dtype=np.float64)
    small = x < 1.0
    xs = np.where(small, x, 0.0)
    series = np.polynomial.polynomial.polyval(xs, _HESTON_SERIES)
    dseries = np.polynomial.polynomial.polyval(xs, np.polynomial.polynomial.polyder(_HESTON_SERIES))
    xl = np.where(small, 1.0, x)
    em = np.expm1(-xl)
    closed = (1.0 + em / xl) / xl  # finite (0) at x = inf, unlike (x + expm1(-x)) / x^2
    dclosed = -(2.0 + em) / xl**2 - 2.0 * em / xl**3  # -(1 + e^-x)/x^2 + 2 (1 - e^-x)/x^3
    return np.where(small, series, closed), lam * np.where(small, dseries, dclosed)


@dataclass(frozen=True)
class SSVI(VolFromTotalVariance):
    """An SSVI surface; implements :class:`ivfast.protocols.DifferentiableSurface`.

    k = ln(K/F), tau in years, w = sigma_BS^2 tau. :func:`fit_ssvi` builds one from quotes.

    Parameters
    ----------
    rho : float
        Skew, |rho| < 1, the same at every maturity.
    phi_kind : {"power_law", "heston"}
        Curvature function phi(theta): :func:`power_law_phi` or :func:`heston_phi`.
    phi_params : tuple of float
        ``(eta, gamma)`` for ``"power_law"``, ``(lam,)`` for ``"heston"``.
    theta : MonotoneTheta
        ATM total-variance term structure theta(tau) = w(0, tau).

    Raises
    ------
    ValueError
        If |rho| >= 1 or ``phi_kind`` is unknown. The parameters need not satisfy the
        no-arbitrage conditions; see :meth:`satisfies_gj_conditions`.
    """

    rho: float
    phi_kind: str
    phi_params: tuple[float, ...]
    theta: MonotoneTheta

    def __post_init__(self) -> None:
        if not abs(self.rho) < 1.0:
            raise ValueError(f"rho: expected |rho| < 1, got {self.rho}")
        if self.phi_kind not in PHI_FUNCTIONS:
            raise ValueError(f"phi_kind: expected one of {sorted(PHI_FUNCTIONS)}, got {self.phi_kind!r}")

    def phi(self, theta: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Evaluate the curvature function and its derivative.

        Parameters
        ----------
        theta : array_like
            ATM total variance (> 0).

        Returns
        -------
        phi, dphi_dtheta : ndarray
            phi(theta) and d phi / d theta, shaped like ``theta``.
        """
        return PHI_FUNCTIONS[self.phi_kind](theta, *self.phi_params)

    def satisfies_gj_conditions(self) -> bool:
        """Check whether the parameters lie in GJ's sufficient set for no static arbitrage.

        Power law: 0 < gamma <= 1/2 and 0 < eta <= :func:`power_law_eta_max`; Heston-like:
        lam >= (1 + |rho|)/4 (both to a relative round-off slack of 1e-12).

        Returns
        -------
        bool
            True when GJ Theorems 4.1 and 4.2 guarantee no calendar and no butterfly arbitrage.
        """
        if self.phi_kind == "power_law":
            eta, gamma = self.phi_params
            return 0.0 < gamma <= 0.5 and 0.0 < eta <= power_law_eta_max(self.rho, gamma) * (1.0 + 1e-12)
        (lam,) = self.phi_params
        return lam >= (1.0 + abs(self.rho)) / 4.0 - 1e-12

    def total_variance_derivatives(
        self, k: ArrayLike, tau: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Total variance and its derivatives in k and tau, in closed form.

        Parameters
        ----------
        k, tau : as in :meth:`SSVI.total_variance`

        Returns
        -------
        w, dw_dk, d2w_dk2, dw_dtau : ndarray
            Broadcast shape of ``k`` and ``tau``; NaN where tau <= 0 (phi(0) may be infinite).
        """
        k = as_float_array(k, "k")
        theta, dtheta = self.theta(tau)
        theta = np.where(theta > 0.0, theta, np.nan)
        phi, dphi = self.phi(theta)
        w, dw, d2w, dw_dtheta = ssvi_derivatives(k, theta, phi, dphi, self.rho)
        return w, dw, d2w, dw_dtheta * dtheta

    def total_variance(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray:
        """Total implied variance w(k, tau).

        Parameters
        ----------
        k : array_like
            Log-moneyness ``ln(K/F)``.
        tau : array_like
            Year fractions, broadcastable with ``k``.

        Returns
        -------
        ndarray
            ``w = sigma_BS^2 tau``; 0 at tau = 0 (theta phi -> 0), NaN where tau < 0.
        """
        theta, _ = self.theta(tau)
        positive = np.where(theta > 0.0, theta, np.nan)
        w = ssvi_total_variance(as_float_array(k, "k"), positive, self.phi(positive)[0], self.rho)
        return np.where(theta == 0.0, 0.0, w)



PHI_FUNCTIONS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "power_law": power_law_phi,
    "heston": heston_phi,
}
