"""Calibration of an SSVI surface to total-variance quotes, inside GJ's no-arbitrage set.

The unconstrained parameters map onto the sufficient set of :mod:`ivfast.svi.ssvi` for every real
value (rho = tanh, gamma and eta through sigmoids below their bounds, theta as a cumulative sum of
positive increments), so every fit is free of static arbitrage.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._arrays import quote_vector, quote_weights
from .atm import MonotoneTheta, atm_total_variances
from .ssvi import PHI_FUNCTIONS, SSVI, power_law_eta_max, ssvi_total_variance

__all__ = ["fit_ssvi"]


# Cap per start: fits pressed against the no-arbitrage boundary (saturated sigmoids) can
# otherwise creep for minutes while gaining nothing visible.
_MAX_NFEV = 300


def _sigmoid(x: float) -> float:
    return float(0.5 * (1.0 + np.tanh(0.5 * x)))


def _unpack(z: np.ndarray, phi_kind: str) -> tuple[float, tuple[float, ...], np.ndarray]:
    """Unconstrained vector -> (rho, phi params, theta nodes) inside GJ's sufficient set."""
    z = np.clip(z, -40.0, 40.0)  # keeps exp() finite when a trial step wanders far out
    rho = float(np.tanh(np.clip(z[0], -15.0, 15.0)))  # |rho| <= 1 - 2e-13 < 1
    params: tuple[float, ...]
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


def fit_ssvi(
    k: ArrayLike, tau: ArrayLike, w: ArrayLike, *, phi: str = "power_law", weights: ArrayLike | None = None
) -> SSVI:
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

    Raises
    ------
    ValueError
        For an unknown ``phi``, invalid quotes or weights, or fewer than (maturities + 3) quotes
        or 3 distinct strikes.
    """
    if phi not in PHI_FUNCTIONS:
        raise ValueError(f"phi: expected one of {sorted(PHI_FUNCTIONS)}, got {phi!r}")
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
        model = ssvi_total_variance(k, th, PHI_FUNCTIONS[phi](th, *params)[0], rho)
        return sw * (model - w) / scale

    from scipy import optimize  # deferred: scipy.optimize is slow to import, ``import ivfast`` stays light

    incr = np.log(_atm_increments(k, tau, w))
    best = None
    for rho0 in (-0.7, -0.3, 0.0, 0.4):
        z0 = np.r_[np.arctanh(rho0), 0.0, 0.0, incr]
        res = optimize.least_squares(
            resid, z0, method="trf", x_scale="jac", xtol=1e-10, ftol=1e-12, gtol=1e-12, max_nfev=_MAX_NFEV
        )
        if best is None or res.cost < best.cost:
            best = res
    assert best is not None  # the loop above runs four times
    rho, params, thetas = _unpack(best.x, phi)
    return SSVI(rho=rho, phi_kind=phi, phi_params=params, theta=MonotoneTheta(taus, thetas))
