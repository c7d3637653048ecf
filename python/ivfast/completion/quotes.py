"""Quotes of a surface to complete: validation, the ATM curve, the market features the chain gives.

Conventions: ``k = ln(K/F)``, ``tau`` in years, ``iv`` Black implied vols (0.2 is 20 %).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .._arrays import quote_vector, quote_weights
from ..svi.atm import SoftplusCurve, atm_total_variances, fit_softplus_curve

__all__ = ["MIN_QUOTES", "FEATURE_NAMES", "validate", "increasing_fit", "atm_curve", "chain_features"]

MIN_QUOTES = 3
"""Fewest quotes a surface is completed from: the refinement fits three SSVI parameters."""

FEATURE_NAMES = ("atm_vol", "skew", "term_slope", "mean_vol", "std_vol")
"""The market features derived from the quotes themselves (:func:`chain_features`)."""

_NEAR_MONEY = 0.3
"""|k| / (atm_vol sqrt(tau)) below this counts as near the money for the skew feature."""


def validate(k: ArrayLike, tau: ArrayLike, iv: ArrayLike, weights: ArrayLike | None
             ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Check the quotes of a surface and return them as float64 vectors.

    Parameters
    ----------
    k, tau, iv : array_like, shape (n,)
        Log-moneyness, year fractions (> 0) and implied vols (> 0), finite, of one size.
    weights : array_like, shape (n,), optional
        Non-negative quote weights, at least one positive (None: equal).

    Returns
    -------
    k, tau, iv, weights : ndarray
        ``weights`` normalised to sum 1.

    Raises
    ------
    ValueError
        Naming the argument: empty or fewer than :data:`MIN_QUOTES` quotes, sizes that differ,
        NaN or infinite values, ``tau <= 0`` or ``iv <= 0``, bad weights.
    """
    k = quote_vector(k, "k")
    if k.size < MIN_QUOTES:
        raise ValueError(f"k: need at least {MIN_QUOTES} quotes to complete a surface, got {k.size}")
    tau = quote_vector(tau, "tau", size=k.size, positive=True)
    iv = quote_vector(iv, "iv", size=k.size, positive=True)
    w = quote_weights(weights, k.size)
    return k, tau, iv, w / w.sum()


def increasing_fit(values: ArrayLike, weights: ArrayLike | None = None) -> NDArray[np.float64]:
    """Weighted least-squares non-decreasing fit by pool-adjacent-violators (exact, O(n)).

    Parameters
    ----------
    values : array_like, shape (n,)
        Values in order (e.g. ATM total variances by maturity).
    weights : array_like, shape (n,), optional
        Positive weights (None: equal).

    Returns
    -------
    ndarray
        The non-decreasing fit.
    """
    y = np.asarray(values, dtype=np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    means: list[float] = []
    mass: list[float] = []
    counts: list[int] = []
    for yi, wi in zip(y, w):
        means.append(float(yi))
        mass.append(float(wi))
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            m2, w2, c2 = means.pop(), mass.pop(), counts.pop()
            total = mass[-1] + w2
            means[-1] = (means[-1] * mass[-1] + m2 * w2) / total
            mass[-1], counts[-1] = total, counts[-1] + c2
    return np.repeat(means, counts)


def atm_curve(k: NDArray[np.float64], tau: NDArray[np.float64], iv: NDArray[np.float64]) -> SoftplusCurve:
    """The ATM total-variance curve of the quotes: positive, strictly increasing and smooth.

    ATM total variance per maturity (:func:`ivfast.svi.atm.atm_total_variances`), made
    non-decreasing (:func:`increasing_fit`), then the softplus curve of :mod:`ivfast.svi.atm`
    (which cannot turn down between or beyond the maturities: SSVI's calendar condition).

    Parameters
    ----------
    k, tau, iv : ndarray, shape (n,)
        Validated quotes.

    Returns
    -------
    SoftplusCurve
    """
    taus, theta = atm_total_variances(k, tau, iv**2 * tau)
    theta = np.maximum(increasing_fit(theta), np.finfo(float).tiny)
    return fit_softplus_curve(taus, theta)


def chain_features(k: NDArray[np.float64], tau: NDArray[np.float64], iv: NDArray[np.float64],
                   curve: SoftplusCurve) -> NDArray[np.float64]:
    """Market features the quotes themselves give (:data:`FEATURE_NAMES`).

    The published IvySPT adds the VIX, the index return and rates; a chain alone gives the
    ATM level, skew and term slope, the mean and spread of its vols. (The rate from put-call
    parity is common to the whole chain and leaves ``(k, tau, iv)`` unchanged, so it is not used.)

    Parameters
    ----------
    k, tau, iv : ndarray, shape (n,)
        Validated quotes.
    curve : SoftplusCurve
        Their ATM curve (:func:`atm_curve`).

    Returns
    -------
    ndarray, shape (5,)
        Median ATM vol over the maturities; skew d iv / d (k / sqrt(tau)) near the money (least
        squares); ATM vol at the last minus the first maturity; mean and standard deviation of
        the vols.
    """
    taus = np.unique(tau)
    atm_vols = np.sqrt(curve(taus)[0] / taus)
    atm = float(np.median(atm_vols))
    z = k / (atm * np.sqrt(tau))
    near = np.abs(z) < _NEAR_MONEY
    if near.sum() < 3:
        near = np.ones_like(near)
    zc = z[near] - z[near].mean()
    denom = float(zc @ zc)
    skew = float(zc @ (iv[near] - iv[near].mean()) / denom) if denom > 0 else 0.0
    return np.array([atm, skew, float(atm_vols[-1] - atm_vols[0]), float(iv.mean()), float(iv.std())])
