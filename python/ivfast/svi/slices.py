"""SVI slice parameterisations (raw, natural, jump-wings), exact conversions and derivatives in k.

Reference: J. Gatheral and A. Jacquier (2014), "Arbitrage-free SVI volatility surfaces",
Quantitative Finance 14(1), section 3 (here "GJ").

The jump-wings conversion below follows GJ section 3.3 (definition of (v, psi, p, c, v~) and
Lemma 3.2 for the inverse). The seed notebook's conversion was wrong: its inverse took b, rho,
m and sigma from the raw input instead of from the jump-wings parameters (so it was no
jump-wings -> raw map at all) and computed a with sqrt(1 - rho) where GJ have sqrt(1 - rho^2),
so even its round trip changed the slice. The inverse here is written in terms of
beta = m / sqrt(m^2 + sigma^2) with the cancellation-free identity
1 - rho*beta - sqrt((1 - beta^2)(1 - rho^2)) = (rho - beta)^2 / (1 - rho*beta + sqrt(...)),
which equals GJ's formula for m != 0 and also covers m = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._arrays import as_float_array
from ..arbitrage.density import butterfly_g

__all__ = [
    "RawSVI",
    "NaturalSVI",
    "JumpWings",
    "raw_to_jw",
    "jw_to_raw",
    "raw_svi_total_variance",
    "raw_svi_derivatives",
]

# Relative slack allowed on a + b*sigma*sqrt(1 - rho^2) >= 0 for round-off after conversions.
_MIN_VARIANCE_SLACK = 1e-12


def _finite_params(**params: float) -> dict[str, float]:
    out = {}
    for name, value in params.items():
        v = float(value)
        if not np.isfinite(v):
            raise ValueError(f"{name}: expected a finite number, got {value!r}")
        out[name] = v
    return out


def raw_svi_total_variance(
    k: np.ndarray, a: float, b: float, rho: float, m: float, sigma: float
) -> np.ndarray:
    """w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)) without argument checks."""
    x = k - m
    return a + b * (rho * x + np.hypot(x, sigma))


def raw_svi_derivatives(
    k: np.ndarray, a: float, b: float, rho: float, m: float, sigma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w, dw/dk, d2w/dk2)`` of raw SVI without argument checks."""
    x = k - m
    r = np.hypot(x, sigma)
    return a + b * (rho * x + r), b * (rho + x / r), b * sigma**2 / r**3


@dataclass(frozen=True)
class RawSVI:
    """Raw SVI slice w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)).

    ``k = ln(K/F)`` (log-moneyness against the forward); ``w`` is total implied variance
    sigma_BS^2 * tau (dimensionless), so the parameters do not depend on tau.

    Domain (raises ``ValueError`` otherwise): b >= 0, |rho| < 1, sigma > 0 and
    a + b sigma sqrt(1 - rho^2) >= 0 (the minimum of w, so w >= 0 everywhere).
    """

    a: float
    b: float
    rho: float
    m: float
    sigma: float

    def __post_init__(self) -> None:
        p = _finite_params(a=self.a, b=self.b, rho=self.rho, m=self.m, sigma=self.sigma)
        for name, value in p.items():
            object.__setattr__(self, name, value)
        if p["b"] < 0.0:
            raise ValueError(f"b: expected >= 0, got {p['b']}")
        if not abs(p["rho"]) < 1.0:
            raise ValueError(f"rho: expected |rho| < 1, got {p['rho']}")
        if not p["sigma"] > 0.0:
            raise ValueError(f"sigma: expected > 0, got {p['sigma']}")
        slack = _MIN_VARIANCE_SLACK * (abs(p["a"]) + p["b"] * p["sigma"])
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

    def total_variance(self, k: Any) -> np.ndarray:
        """Total implied variance w(k) at log-moneyness ``k`` (broadcasts)."""
        return raw_svi_total_variance(as_float_array(k, "k"), self.a, self.b, self.rho, self.m, self.sigma)

    def derivatives(self, k: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(w, dw/dk, d2w/dk2)`` in closed form."""
        return raw_svi_derivatives(as_float_array(k, "k"), self.a, self.b, self.rho, self.m, self.sigma)

    def g(self, k: Any) -> np.ndarray:
        """Gatheral-Jacquier g(k); the slice is butterfly-arbitrage-free iff g >= 0 for all k."""
        w, dw, d2w = self.derivatives(k)
        return butterfly_g(w, dw, d2w, as_float_array(k, "k"))

    def implied_vol(self, k: Any, tau: Any) -> np.ndarray:
        """Black implied volatility sqrt(w(k) / tau) for year fraction ``tau`` > 0 (NaN otherwise)."""
        w = self.total_variance(k)
        tau = as_float_array(tau, "tau")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(tau > 0.0, np.sqrt(np.maximum(w, 0.0) / tau), np.nan)

    def to_natural(self) -> NaturalSVI:
        """Exact conversion to natural SVI (GJ eq. 3.3 inverted)."""
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

    def to_jw(self, tau: float) -> JumpWings:
        """Jump-wings parameters at year fraction ``tau`` (see :func:`raw_to_jw`)."""
        return raw_to_jw(self, tau)


@dataclass(frozen=True)
class NaturalSVI:
    """Natural SVI w(k) = Delta + omega/2 (1 + zeta rho (k - mu) + sqrt((zeta (k - mu) + rho)^2 + 1 - rho^2)).

    GJ eq. 3.2; domain omega >= 0, |rho| < 1, zeta > 0 and min_k w = Delta + omega (1 - rho^2) >= 0.
    """

    delta: float
    mu: float
    rho: float
    omega: float
    zeta: float

    def __post_init__(self) -> None:
        p = _finite_params(delta=self.delta, mu=self.mu, rho=self.rho, omega=self.omega, zeta=self.zeta)
        for name, value in p.items():
            object.__setattr__(self, name, value)
        if p["omega"] < 0.0:
            raise ValueError(f"omega: expected >= 0, got {p['omega']}")
        if not p["zeta"] > 0.0:
            raise ValueError(f"zeta: expected > 0, got {p['zeta']}")
        if not abs(p["rho"]) < 1.0:
            raise ValueError(f"rho: expected |rho| < 1, got {p['rho']}")
        min_w = p["delta"] + p["omega"] * (1.0 - p["rho"] ** 2)
        if min_w < -_MIN_VARIANCE_SLACK * (abs(p["delta"]) + p["omega"]):
            raise ValueError(f"delta: Delta + omega (1 - rho^2) (the minimum of w) must be >= 0, got {min_w}")

    def to_raw(self) -> RawSVI:
        """Exact conversion to raw SVI (GJ eq. 3.3)."""
        s = np.sqrt(1.0 - self.rho**2)
        return RawSVI(
            a=self.delta + self.omega / 2.0 * s**2,
            b=self.omega * self.zeta / 2.0,
            rho=self.rho,
            m=self.mu - self.rho / self.zeta,
            sigma=s / self.zeta,
        )

    def total_variance(self, k: Any) -> np.ndarray:
        """Total implied variance w(k) (evaluated in the natural form)."""
        y = self.zeta * (as_float_array(k, "k") - self.mu)
        r = np.sqrt((y + self.rho) ** 2 + 1.0 - self.rho**2)
        return self.delta + self.omega / 2.0 * (1.0 + self.rho * y + r)


@dataclass(frozen=True)
class JumpWings:
    """SVI jump-wings parameters at one expiry tau (GJ section 3.3).

    v : ATM variance w(0)/tau; psi : ATM skew dw/dk(0) / (2 sqrt(w(0)));
    p, c : left and right wing slopes of w divided by sqrt(w(0));
    v_tilde : minimum variance min_k w / tau. Variances are per year (w / tau).
    """

    v: float
    psi: float
    p: float
    c: float
    v_tilde: float

    def __post_init__(self) -> None:
        p = _finite_params(v=self.v, psi=self.psi, p=self.p, c=self.c, v_tilde=self.v_tilde)
        for name, value in p.items():
            object.__setattr__(self, name, value)
        if not p["v"] > 0.0:
            raise ValueError(f"v: expected ATM variance > 0, got {p['v']}")
        if p["p"] < 0.0 or p["c"] < 0.0 or not p["p"] + p["c"] > 0.0:
            raise ValueError(f"p, c: expected wing slopes >= 0 with p + c > 0, got p={p['p']}, c={p['c']}")
        if not -p["p"] / 2.0 < p["psi"] < p["c"] / 2.0:
            raise ValueError(f"psi: expected -p/2 < psi < c/2, got psi={p['psi']}")
        if p["v_tilde"] < 0.0 or p["v_tilde"] > p["v"]:
            raise ValueError(f"v_tilde: expected 0 <= v_tilde <= v, got {p['v_tilde']}")


def _check_tau(tau: float) -> float:
    t = float(tau)
    if not (np.isfinite(t) and t > 0.0):
        raise ValueError(f"tau: expected a finite year fraction > 0, got {tau!r}")
    return t


def raw_to_jw(raw: RawSVI, tau: float) -> JumpWings:
    """Raw SVI -> jump-wings at year fraction ``tau`` (GJ section 3.3, exact).

    Needs w(0) > 0 (the jump-wings form is normalised by the ATM total variance).
    """
    t = _check_tau(tau)
    R = np.hypot(raw.m, raw.sigma)
    w0 = raw.a + raw.b * (-raw.rho * raw.m + R)
    if not w0 > 0.0:
        raise ValueError(f"raw: ATM total variance w(0) = {w0} must be > 0 for jump-wings")
    sw = np.sqrt(w0)
    return JumpWings(
        v=w0 / t,
        psi=raw.b / (2.0 * sw) * (raw.rho - raw.m / R),
        p=raw.b * (1.0 - raw.rho) / sw,
        c=raw.b * (1.0 + raw.rho) / sw,
        v_tilde=raw.min_total_variance / t,
    )


def jw_to_raw(jw: JumpWings, tau: float) -> RawSVI:
    """Jump-wings at year fraction ``tau`` -> raw SVI (GJ Lemma 3.2, exact).

    When psi = 0 the ATM point is the variance minimum (v = v_tilde) and sigma is not
    determined by the jump-wings parameters: ``ValueError``.
    """
    t = _check_tau(tau)
    w0 = jw.v * t
    sw = np.sqrt(w0)
    b = sw / 2.0 * (jw.c + jw.p)
    rho = (jw.c - jw.p) / (jw.c + jw.p)  # = 1 - p sqrt(w0) / b
    beta = rho - 4.0 * jw.psi / (jw.c + jw.p)  # = rho - 2 psi sqrt(w0) / b = m / sqrt(m^2 + sigma^2)
    root = np.sqrt((1.0 - beta**2) * (1.0 - rho**2))
    denom = (rho - beta) ** 2 / (1.0 - rho * beta + root)
    if not denom > 0.0:
        raise ValueError("jw: psi = 0 (ATM is the variance minimum) leaves sigma undetermined")
    R = (jw.v - jw.v_tilde) * t / (b * denom)  # sqrt(m^2 + sigma^2)
    m = beta * R
    sigma = np.sqrt(1.0 - beta**2) * R
    a = jw.v_tilde * t - b * sigma * np.sqrt(1.0 - rho**2)
    return RawSVI(a=a, b=b, rho=rho, m=m, sigma=sigma)
