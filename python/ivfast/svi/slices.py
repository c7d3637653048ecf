"""SVI slice parameterisations (raw and natural), exact conversions and derivatives in k.

The jump-wings form is in :mod:`ivfast.svi.jump_wings`.

Reference: J. Gatheral and A. Jacquier (2014), "Arbitrage-free SVI volatility surfaces",
Quantitative Finance 14(1), section 3 (here "GJ").
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from .._arrays import as_float_array
from ..arbitrage.density import butterfly_g

__all__ = [
    "RawSVI",
    "NaturalSVI",
    "raw_svi_total_variance",
    "raw_svi_derivatives",
    "finite_params",
]

# Relative slack allowed on a + b*sigma*sqrt(1 - rho^2) >= 0 for round-off after conversions.
MIN_VARIANCE_SLACK = 1e-12


def finite_params(**params: float) -> dict[str, float]:
    """The keyword arguments as floats, or a ValueError naming the first non-finite one.

    Parameters
    ----------
    **params : float
        Parameter values by name.

    Returns
    -------
    dict of str to float
    """
    out = {}
    for name, value in params.items():
        v = float(value)
        if not np.isfinite(v):
            raise ValueError(f"{name}: expected a finite number, got {value!r}")
        out[name] = v
    return out


def vol_from_total_variance(w: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Black implied volatility ``sqrt(w / tau)`` from total variance, NaN where ``tau <= 0``.

    Parameters
    ----------
    w : ndarray
        Total implied variance.
    tau : ndarray
        Year fractions, broadcastable with ``w``.

    Returns
    -------
    ndarray
        Annualised implied volatility of the broadcast shape.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tau > 0.0, np.sqrt(w / tau), np.nan)


def set_finite_fields(params: Any) -> dict[str, float]:
    """Replace the fields of a frozen parameter dataclass by :func:`finite_params` of them, in field order.

    Parameters
    ----------
    params : dataclass instance
        The parameters (from ``__post_init__``).

    Returns
    -------
    dict of str to float
        The fields as floats, for the class's own range checks.
    """
    p = finite_params(**{f.name: getattr(params, f.name) for f in fields(params)})
    for name, value in p.items():
        object.__setattr__(params, name, value)
    return p


class VolFromTotalVariance:
    """Mixin giving a surface with ``total_variance(k, tau)`` its ``implied_vol``."""

    if TYPE_CHECKING:
        def total_variance(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray: ...  # noqa: D102

    def implied_vol(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray:
        """Black implied volatility sqrt(w / tau).

        Parameters
        ----------
        k, tau : as in the surface's ``total_variance``

        Returns
        -------
        ndarray
            Annualised implied volatility (0.2 = 20 %), NaN where tau <= 0.
        """
        tau = as_float_array(tau, "tau")
        return vol_from_total_variance(self.total_variance(k, tau), tau)


def raw_svi_total_variance(
    k: np.ndarray, a: float, b: float, rho: float, m: float, sigma: float
) -> np.ndarray:
    """Raw SVI total variance w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)), unchecked.

    Parameters
    ----------
    k : ndarray
        Log-moneyness ``ln(K/F)``, any shape.
    a, b, rho, m, sigma : float
        Raw SVI parameters (see :class:`RawSVI`); not validated.

    Returns
    -------
    ndarray
        Total implied variance ``w = sigma_BS^2 tau``, shaped like ``k``.
    """
    x = k - m
    return a + b * (rho * x + np.hypot(x, sigma))


def raw_svi_derivatives(
    k: np.ndarray, a: float, b: float, rho: float, m: float, sigma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw SVI total variance and its first two derivatives in k, unchecked.

    Parameters
    ----------
    k, a, b, rho, m, sigma : as in :func:`raw_svi_total_variance`

    Returns
    -------
    w, dw_dk, d2w_dk2 : ndarray
        ``w(k)``, ``dw/dk`` and ``d2w/dk2`` in closed form, each shaped like ``k``.
    """
    x = k - m
    r = np.hypot(x, sigma)
    return a + b * (rho * x + r), b * (rho + x / r), b * sigma**2 / r**3


@dataclass(frozen=True)
class RawSVI:
    """Raw SVI slice w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)).

    ``k = ln(K/F)`` (log-moneyness against the forward); ``w`` is total implied variance
    sigma_BS^2 * tau (dimensionless), so the parameters do not depend on tau.

    Parameters
    ----------
    a : float
        Level of w; with ``b sigma sqrt(1 - rho^2)`` it sets the minimum variance.
    b : float
        Wing slope scale, >= 0 (the wing slopes of w are ``b (1 -+ rho)``).
    rho : float
        Skew, |rho| < 1 (rotates the smile).
    m : float
        Horizontal shift of the smile, in log-moneyness.
    sigma : float
        ATM curvature scale, > 0 (width of the smile's rounded vertex, in log-moneyness).

    Raises
    ------
    ValueError
        For a non-finite parameter, b < 0, |rho| >= 1, sigma <= 0 or
        a + b sigma sqrt(1 - rho^2) < 0 (the minimum of w, so w >= 0 everywhere).
    """

    a: float
    b: float
    rho: float
    m: float
    sigma: float

    def __post_init__(self) -> None:
        p = set_finite_fields(self)
        if p["b"] < 0.0:
            raise ValueError(f"b: expected >= 0, got {p['b']}")
        if not abs(p["rho"]) < 1.0:
            raise ValueError(f"rho: expected |rho| < 1, got {p['rho']}")
        if not p["sigma"] > 0.0:
            raise ValueError(f"sigma: expected > 0, got {p['sigma']}")
        slack = MIN_VARIANCE_SLACK * (abs(p["a"]) + p["b"] * p["sigma"])
        if self.min_total_variance < -slack:
            raise ValueError(
                "a: a + b*sigma*sqrt(1 - rho^2) must be >= 0 (negative total variance), "
                f"got {self.min_total_variance}"
            )

    @property
    def min_total_variance(self) -> float:
        """min_k w(k) = a + b sigma sqrt(1 - rho^2), attained at k = m - rho sigma / sqrt(1 - rho^2)."""
        return self.a + self.b * self.sigma * np.sqrt(1.0 - self.rho**2)

    @property
    def wing_slopes(self) -> tuple[float, float]:
        """Asymptotic slopes (left, right) of w: b(1 - rho), b(1 + rho); Lee's bound is 2."""
        return self.b * (1.0 - self.rho), self.b * (1.0 + self.rho)

    def total_variance(self, k: ArrayLike) -> np.ndarray:
        """Total implied variance w(k).

        Parameters
        ----------
        k : array_like
            Log-moneyness ``ln(K/F)``, any shape.

        Returns
        -------
        ndarray
            ``w = sigma_BS^2 tau`` (float64), shaped like ``k``.
        """
        return raw_svi_total_variance(as_float_array(k, "k"), self.a, self.b, self.rho, self.m, self.sigma)

    def derivatives(self, k: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Total variance and its first two derivatives in k, in closed form.

        Parameters
        ----------
        k : as in :meth:`RawSVI.total_variance`

        Returns
        -------
        w, dw_dk, d2w_dk2 : ndarray
            ``w(k)``, ``dw/dk`` and ``d2w/dk2``, each shaped like ``k``.
        """
        return raw_svi_derivatives(as_float_array(k, "k"), self.a, self.b, self.rho, self.m, self.sigma)

    def g(self, k: ArrayLike) -> np.ndarray:
        """Gatheral-Jacquier density factor g(k) (GJ Lemma 2.2).

        The slice is free of butterfly arbitrage iff g >= 0 for all k (with w > 0).

        Parameters
        ----------
        k : as in :meth:`RawSVI.total_variance`

        Returns
        -------
        ndarray
            ``g(k)``, shaped like ``k``.
        """
        w, dw, d2w = self.derivatives(k)
        return butterfly_g(w, dw, d2w, as_float_array(k, "k"))

    def implied_vol(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray:
        """Black implied volatility sqrt(w(k) / tau) of the slice read at year fraction ``tau``.

        Parameters
        ----------
        k
            As in :meth:`RawSVI.total_variance`.
        tau : array_like
            Year fraction, broadcastable with ``k``.

        Returns
        -------
        ndarray
            Annualised implied volatility (0.2 = 20 %), NaN where tau <= 0.
        """
        w = self.total_variance(k)
        return vol_from_total_variance(np.maximum(w, 0.0), as_float_array(tau, "tau"))

    def to_natural(self) -> NaturalSVI:
        """Convert exactly to natural SVI (GJ eq. 3.3 inverted).

        Returns
        -------
        NaturalSVI
            The same slice w(k).
        """
        s = np.sqrt(1.0 - self.rho**2)
        zeta = s / self.sigma
        omega = 2.0 * self.b * self.sigma / s
        return NaturalSVI(
            delta=self.a - self.b * self.sigma * s,
            mu=self.m + self.rho * self.sigma / s,
            rho=self.rho,
            omega=omega,
            zeta=zeta,
        )


@dataclass(frozen=True)
class NaturalSVI:
    """Natural SVI w(k) = Delta + omega/2 (1 + zeta rho (k - mu) + sqrt((zeta (k - mu) + rho)^2 + 1 - rho^2)).

    GJ eq. 3.2, with ``k = ln(K/F)`` and ``w`` the total implied variance.

    Parameters
    ----------
    delta : float
        Level Delta of w.
    mu : float
        Horizontal shift, in log-moneyness.
    rho : float
        Skew, |rho| < 1.
    omega : float
        Scale of w, >= 0 (with Delta = mu = 0 it is SSVI's ATM total variance theta).
    zeta : float
        Curvature, > 0.

    Raises
    ------
    ValueError
        For a non-finite parameter, omega < 0, zeta <= 0, |rho| >= 1 or
        Delta + omega (1 - rho^2) < 0 (the minimum of w).
    """

    delta: float
    mu: float
    rho: float
    omega: float
    zeta: float

    def __post_init__(self) -> None:
        p = set_finite_fields(self)
        if p["omega"] < 0.0:
            raise ValueError(f"omega: expected >= 0, got {p['omega']}")
        if not p["zeta"] > 0.0:
            raise ValueError(f"zeta: expected > 0, got {p['zeta']}")
        if not abs(p["rho"]) < 1.0:
            raise ValueError(f"rho: expected |rho| < 1, got {p['rho']}")
        min_w = p["delta"] + p["omega"] * (1.0 - p["rho"] ** 2)
        if min_w < -MIN_VARIANCE_SLACK * (abs(p["delta"]) + p["omega"]):
            raise ValueError(f"delta: Delta + omega (1 - rho^2) (the minimum of w) must be >= 0, got {min_w}")

    def to_raw(self) -> RawSVI:
        """Convert exactly to raw SVI (GJ eq. 3.3).

        Returns
        -------
        RawSVI
            The same slice w(k).
        """
        s = np.sqrt(1.0 - self.rho**2)
        return RawSVI(
            a=self.delta + self.omega / 2.0 * s**2,
            b=self.omega * self.zeta / 2.0,
            rho=self.rho,
            m=self.mu - self.rho / self.zeta,
            sigma=s / self.zeta,
        )

    def total_variance(self, k: ArrayLike) -> np.ndarray:
        """Total implied variance w(k), evaluated in the natural form.

        Parameters
        ----------
        k : as in :meth:`RawSVI.total_variance`

        Returns
        -------
        ndarray
            ``w = sigma_BS^2 tau``, shaped like ``k``.
        """
        y = self.zeta * (as_float_array(k, "k") - self.mu)
        r = np.sqrt((y + self.rho) ** 2 + 1.0 - self.rho**2)
        return self.delta + self.omega / 2.0 * (1.0 + self.rho * y + r)
