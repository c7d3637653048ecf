"""Surface SVI (SSVI): formulas and an arbitrage-free surface calibrator.

Reference: J. Gatheral and A. Jacquier (2014), "Arbitrage-free SVI volatility surfaces" ("GJ").
The PUBLISHED SSVI form (GJ Definition 4.1) is used:

    w(k, theta) = theta / 2 * (1 + rho phi(theta) k + sqrt((phi(theta) k + rho)^2 + 1 - rho^2)),

with theta(tau) the ATM total variance (a widely copied blog form, sqrt(phi (k + rho)^2 + 1 - rho^2),
is not SSVI). The formula functions take NumPy arrays or torch tensors: the deep-smoothing prior
(:mod:`ivfast.surface.prior`) evaluates these same functions.

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

:func:`fit_ssvi` parameterises inside these sets, so every fit is free of static arbitrage.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial
from typing import Any

import numpy as np

from .. import _xp
from .._arrays import as_float_array, quote_vector, quote_weights
from .atm import MonotoneTheta, atm_total_variances

__all__ = [
    "ssvi_total_variance",
    "ssvi_derivatives",
    "power_law_phi",
    "power_law_eta_max",
    "heston_phi",
    "SSVI",
    "fit_ssvi",
]


def ssvi_total_variance(k: Any, theta: Any, phi: Any, rho: Any) -> Any:
    """SSVI total variance w(k) (GJ Definition 4.1).

    Parameters
    ----------
    k : array_like or torch.Tensor
        Log-moneyness ``ln(K/F)``.
    theta, phi, rho : array_like or torch.Tensor
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


def ssvi_derivatives(k: Any, theta: Any, phi: Any, dphi: Any, rho: Any) -> tuple[Any, Any, Any, Any]:
    """SSVI total variance and its derivatives in k and theta, in closed form.

    Parameters
    ----------
    k, theta, phi, rho : array_like or torch.Tensor
        As in :func:`ssvi_total_variance`.
    dphi : array_like or torch.Tensor
        d phi / d theta.

    Returns
    -------
    tuple of ndarray or torch.Tensor
        ``(w, dw/dk, d2w/dk2, dw/dtheta)``; multiply the last by dtheta/dtau for dw/dtau.
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


def power_law_phi(theta: Any, eta: Any, gamma: Any) -> tuple[Any, Any]:
    """Power-law curvature ``phi(theta) = eta theta^-gamma (1 + theta)^(gamma - 1)`` and d phi / d theta.

    Parameters
    ----------
    theta : array_like or torch.Tensor
        ATM total variance (> 0).
    eta, gamma : float or torch.Tensor
        Level (> 0) and decay (0 < gamma <= 1/2 for the no-arbitrage set).

    Returns
    -------
    tuple of ndarray or torch.Tensor
        ``(phi, dphi/dtheta)``.
    """
    theta = _xp.as_arrays(theta)[0]
    phi = eta * theta ** (-gamma) * (1.0 + theta) ** (gamma - 1.0)
    return phi, phi * ((gamma - 1.0) / (1.0 + theta) - gamma / theta)


def power_law_eta_max(rho: Any, gamma: Any) -> Any:
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


# Taylor coefficients of phi(x) = (x + expm1(-x)) / x^2 = sum_j (-x)^j / (j + 2)!; 22 terms
# reach 1/24! ~ 2e-24 at x = 1, below double precision.
_HESTON_SERIES = np.array([(-1.0) ** j / factorial(j + 2) for j in range(22)])


def heston_phi(theta: Any, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Heston-like phi(theta) = (1 - (1 - e^{-x})/x) / x, x = lam theta, and d phi / d theta.

    Uses the Taylor series for x < 1, where the closed form cancels catastrophically.
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
class SSVI:
    """An SSVI surface; implements :class:`ivfast.protocols.DifferentiableSurface`.

    ``phi_kind`` is ``"power_law"`` (``phi_params = (eta, gamma)``) or ``"heston"``
    (``phi_params = (lam,)``); ``theta`` is the ATM total-variance term structure.
    k = ln(K/F), tau in years, w = sigma_BS^2 tau.
    """

    rho: float
    phi_kind: str
    phi_params: tuple[float, ...]
    theta: MonotoneTheta

    def __post_init__(self) -> None:
        if not abs(self.rho) < 1.0:
            raise ValueError(f"rho: expected |rho| < 1, got {self.rho}")
        if self.phi_kind not in _PHI:
            raise ValueError(f"phi_kind: expected one of {sorted(_PHI)}, got {self.phi_kind!r}")

    def phi(self, theta: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(phi(theta), dphi/dtheta)``."""
        return _PHI[self.phi_kind](theta, *self.phi_params)

    def satisfies_gj_conditions(self) -> bool:
        """Whether the parameters lie in GJ's sufficient set for no static arbitrage."""
        if self.phi_kind == "power_law":
            eta, gamma = self.phi_params
            return 0.0 < gamma <= 0.5 and 0.0 < eta <= power_law_eta_max(self.rho, gamma) * (1.0 + 1e-12)
        (lam,) = self.phi_params
        return lam >= (1.0 + abs(self.rho)) / 4.0 - 1e-12

    def total_variance_derivatives(
        self, k: Any, tau: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(w, dw/dk, d2w/dk2, dw/dtau)`` in closed form (NaN where tau <= 0: phi(0) may be infinite)."""
        k = as_float_array(k, "k")
        theta, dtheta = self.theta(tau)
        theta = np.where(theta > 0.0, theta, np.nan)
        phi, dphi = self.phi(theta)
        w, dw, d2w, dw_dtheta = ssvi_derivatives(k, theta, phi, dphi, self.rho)
        return w, dw, d2w, dw_dtheta * dtheta

    def total_variance(self, k: Any, tau: Any) -> np.ndarray:
        """Total implied variance w(k, tau); 0 at tau = 0 (theta phi -> 0), NaN where tau < 0."""
        theta, _ = self.theta(tau)
        positive = np.where(theta > 0.0, theta, np.nan)
        w = ssvi_total_variance(as_float_array(k, "k"), positive, self.phi(positive)[0], self.rho)
        return np.where(theta == 0.0, 0.0, w)

    def implied_vol(self, k: Any, tau: Any) -> np.ndarray:
        """Black implied volatility sqrt(w / tau) (NaN where tau <= 0)."""
        tau = as_float_array(tau, "tau")
        w = self.total_variance(k, tau)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(tau > 0.0, np.sqrt(w / tau), np.nan)


_PHI = {"power_law": power_law_phi, "heston": heston_phi}


# Cap per start: fits pressed against the no-arbitrage boundary (saturated sigmoids) can
# otherwise creep for minutes while gaining nothing visible.
_MAX_NFEV = 300


def _sigmoid(x: np.ndarray | float) -> float:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _unpack(z: np.ndarray, phi_kind: str) -> tuple[float, tuple[float, ...], np.ndarray]:
    """Unconstrained vector -> (rho, phi params, theta nodes) inside GJ's sufficient set."""
    z = np.clip(z, -40.0, 40.0)  # keeps exp() finite when a trial step wanders far out
    rho = float(np.tanh(np.clip(z[0], -15.0, 15.0)))  # |rho| <= 1 - 2e-13 < 1
    if phi_kind == "power_law":
        gamma = 0.5 * _sigmoid(z[2])
        params = (power_law_eta_max(rho, gamma) * _sigmoid(z[1]), gamma)
    else:
        params = ((1.0 + abs(rho)) / 4.0 + float(np.exp(z[1])),)
    return rho, params, np.cumsum(np.exp(z[3:]))


def _atm_increments(k: np.ndarray, tau: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Start values of the theta increments: the quotes' ATM total variances, made increasing."""
    theta = np.maximum.accumulate(atm_total_variances(k, tau, w)[1])
    return np.maximum(np.diff(np.r_[0.0, theta]), 1e-4 * theta[-1])


def fit_ssvi(k: Any, tau: Any, w: Any, *, phi: str = "power_law", weights: Any = None) -> SSVI:
    """Fit an SSVI surface, free of static arbitrage, to total-variance quotes.

    Parameters
    ----------
    k, tau, w : array_like, shape (n,)
        Log-moneyness ln(K/F), year fraction (> 0) and total implied variance (> 0) per quote.
        Quotes sharing a tau form one slice; theta is fitted at each distinct tau.
    phi : {"power_law", "heston"}
        Curvature function; the fit stays inside GJ's sufficient no-arbitrage set for it
        (see the module docstring), so the result is calendar- and butterfly-free.
    weights : array_like, shape (n,), optional
        Non-negative weights of the squared total-variance residuals. For residuals in implied
        vol use ``1 / (4 w tau)`` (first order, d vol = d w / (2 vol tau)).

    Returns
    -------
    SSVI
        rho, the phi parameters and theta at every distinct tau (positive increments, so
        theta is non-decreasing and :class:`MonotoneTheta` interpolates it monotonically).
    """
    if phi not in _PHI:
        raise ValueError(f"phi: expected one of {sorted(_PHI)}, got {phi!r}")
    k = quote_vector(k, "k")
    tau = quote_vector(tau, "tau", size=k.size, positive=True)
    w = quote_vector(w, "w", size=k.size, positive=True)
    wt = quote_weights(weights, k.size)
    taus, tau_index = np.unique(tau, return_inverse=True)
    if k.size < taus.size + 3 or np.unique(k).size < 3:
        raise ValueError(
            f"k: need at least {taus.size + 3} quotes with >= 3 distinct strikes for {taus.size} maturities"
        )
    scale = float(np.max(w))
    sw = np.sqrt(wt / wt.sum())

    def resid(z: np.ndarray) -> np.ndarray:
        rho, params, thetas = _unpack(z, phi)
        th = thetas[tau_index]
        model = ssvi_total_variance(k, th, _PHI[phi](th, *params)[0], rho)
        return sw * (model - w) / scale

    from scipy import optimize  # deferred: importing it adds ~0.5 s to ``import ivfast``

    incr = np.log(_atm_increments(k, tau, w))
    best = None
    for rho0 in (-0.7, -0.3, 0.0, 0.4):
        z0 = np.r_[np.arctanh(rho0), 0.0, 0.0, incr]
        res = optimize.least_squares(
            resid, z0, method="trf", x_scale="jac", xtol=1e-10, ftol=1e-12, gtol=1e-12, max_nfev=_MAX_NFEV
        )
        if best is None or res.cost < best.cost:
            best = res
    rho, params, thetas = _unpack(best.x, phi)
    return SSVI(rho=rho, phi_kind=phi, phi_params=params, theta=MonotoneTheta(taus, thetas))
