"""SVI jump-wings parameters (GJ section 3.3) and their exact conversions to and from raw SVI.

Reference: J. Gatheral and A. Jacquier (2014), "Arbitrage-free SVI volatility surfaces",
Quantitative Finance 14(1) (here "GJ").

The jump-wings conversion follows GJ section 3.3 (definition of (v, psi, p, c, v~)) and
Lemma 3.2 for the inverse, which takes every raw parameter from the jump-wings ones (w0 = v tau):
b = sqrt(w0)/2 (c + p), rho = 1 - p sqrt(w0)/b, beta = m / sqrt(m^2 + sigma^2) =
rho - 2 psi sqrt(w0)/b, and a = v~ tau - b sigma sqrt(1 - rho^2) (with sqrt(1 - rho^2), the
minimum of w; sqrt(1 - rho) gives another slice). sqrt(m^2 + sigma^2) comes from
(v - v~) tau = b sqrt(m^2 + sigma^2) (1 - rho*beta - sqrt((1 - beta^2)(1 - rho^2))), evaluated
with the cancellation-free identity
1 - rho*beta - sqrt((1 - beta^2)(1 - rho^2)) = (rho - beta)^2 / (1 - rho*beta + sqrt(...)),
which equals GJ's formula for m != 0 and also covers m = 0; raw -> jump-wings -> raw is the
identity to round-off whenever psi != 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .slices import RawSVI, set_finite_fields

__all__ = ["JumpWings", "raw_to_jw", "jw_to_raw"]


@dataclass(frozen=True)
class JumpWings:
    """SVI jump-wings parameters at one expiry tau (GJ section 3.3).

    Variances are per year (w / tau); the slopes are normalised by ``sqrt(w(0))``.

    Parameters
    ----------
    v : float
        ATM variance w(0) / tau, > 0.
    psi : float
        ATM skew dw/dk(0) / (2 sqrt(w(0))), with -p/2 < psi < c/2.
    p : float
        Left (put) wing slope of w divided by sqrt(w(0)), >= 0.
    c : float
        Right (call) wing slope of w divided by sqrt(w(0)), >= 0, with p + c > 0.
    v_tilde : float
        Minimum variance min_k w / tau, 0 <= v_tilde <= v.

    Raises
    ------
    ValueError
        For a non-finite parameter or one outside the bounds above.
    """

    v: float
    psi: float
    p: float
    c: float
    v_tilde: float

    def __post_init__(self) -> None:
        p = set_finite_fields(self)
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
    """Convert raw SVI to jump-wings at year fraction ``tau`` (GJ section 3.3, exact).

    Parameters
    ----------
    raw : RawSVI
        The slice.
    tau : float
        Its expiry in years, > 0 (jump-wings variances are per year).

    Returns
    -------
    JumpWings
        The same slice in jump-wings form.

    Raises
    ------
    ValueError
        If tau is not a finite number > 0, or w(0) <= 0 (the jump-wings form is normalised by
        the ATM total variance).
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
        # The minimum is at most w(0); computed by another formula it can exceed it by rounding
        # when the vertex is at the money (rho, m ~ 0).
        v_tilde=min(raw.min_total_variance, w0) / t,
    )


def jw_to_raw(jw: JumpWings, tau: float) -> RawSVI:
    """Convert jump-wings parameters at year fraction ``tau`` to raw SVI (GJ Lemma 3.2, exact).

    Parameters
    ----------
    jw : JumpWings
        The slice in jump-wings form.
    tau : float
        Its expiry in years, > 0.

    Returns
    -------
    RawSVI
        The same slice in raw form.

    Raises
    ------
    ValueError
        If tau is not a finite number > 0, or psi = 0: the ATM point is then the variance minimum
        (v = v_tilde) and sigma is not determined by the jump-wings parameters.
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
