"""Model parameter sets for Fourier pricing: Black–Scholes, Heston and Bates.

Each is a frozen dataclass that checks its domain on construction and raises ``ValueError`` naming
the offending field. Variances and volatilities are annualised; ``lam`` is a yearly intensity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from typing import Any

from ._core import ModelKind

__all__ = ["BlackScholesParams", "HestonParams", "BatesParams", "MODEL_KINDS", "DOMAIN"]


# field -> (predicate on a float or an ndarray, what is expected); shared by the dataclasses and the
# vectorised check of parameter arrays in the batch API.
DOMAIN: dict[str, tuple[Callable[[Any], Any], str]] = {
    "vol": (lambda x: x > 0.0, "vol > 0"),
    "v0": (lambda x: x >= 0.0, "v0 >= 0 (initial variance)"),
    "kappa": (lambda x: x > 0.0, "kappa > 0 (mean-reversion speed)"),
    "theta": (lambda x: x > 0.0, "theta > 0 (long-run variance)"),
    "sigma": (lambda x: x > 0.0, "sigma > 0 (volatility of variance)"),
    "rho": (lambda x: (x > -1.0) & (x < 1.0), "-1 < rho < 1 (spot-variance correlation)"),
    "lam": (lambda x: x >= 0.0, "lam >= 0 (jump intensity per year)"),
    "beta": (lambda x: x > -1.0, "beta > -1 (mean relative jump)"),
    "alpha": (lambda x: x >= 0.0, "alpha >= 0 (log-jump volatility)"),
}


def _validate(params: object) -> None:
    for f in fields(params):  # type: ignore[arg-type]
        value = getattr(params, f.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{f.name}: expected a finite real number, got {value!r}")
        object.__setattr__(params, f.name, float(value))
        ok, expected = DOMAIN[f.name]
        if not ok(float(value)):
            raise ValueError(f"{f.name}: expected {expected}, got {value!r}")


class _ValidatedParams:
    """Behaviour shared by the frozen parameter dataclasses: domain checks and a flat tuple."""

    def __post_init__(self) -> None:
        _validate(self)

    def as_tuple(self) -> tuple[float, ...]:
        """The fields in declaration order (the compiled engine's parameter layout)."""
        return astuple(self)  # type: ignore[call-overload]


class _StochasticVariance(_ValidatedParams):
    @property
    def feller_satisfied(self) -> bool:
        """Whether 2 kappa theta >= sigma^2 (variance never reaches 0); pricing does not need it."""
        return 2.0 * self.kappa * self.theta >= self.sigma**2  # type: ignore[attr-defined]


@dataclass(frozen=True)
class BlackScholesParams(_ValidatedParams):
    """Black–Scholes (log-normal) model with constant volatility ``vol`` (per sqrt-year)."""

    vol: float


@dataclass(frozen=True)
class HestonParams(_StochasticVariance):
    """Heston stochastic-volatility model.

    dS/S = (r - q) dt + sqrt(v) dW1,  dv = kappa (theta - v) dt + sigma sqrt(v) dW2,  d<W1, W2> = rho dt.

    Parameters
    ----------
    v0, theta : initial and long-run variance (vol squared, per year).
    kappa : mean-reversion speed (per year).
    sigma : volatility of variance.
    rho : correlation of spot and variance shocks, strictly inside (-1, 1).
    """

    v0: float
    kappa: float
    theta: float
    sigma: float
    rho: float


@dataclass(frozen=True)
class BatesParams(_StochasticVariance):
    """Bates model: Heston plus log-normal jumps (the seed's parameterisation).

    Jumps arrive with intensity ``lam`` per year; a jump multiplies the price by 1 + J with
    ln(1 + J) ~ N(ln(1 + beta) - alpha^2 / 2, alpha^2), so E[J] = ``beta``; the drift is compensated
    by -lam * beta. The first five fields are Heston's (see :class:`HestonParams`).
    """

    v0: float
    kappa: float
    theta: float
    sigma: float
    rho: float
    lam: float
    beta: float
    alpha: float


# Model class -> the compiled engine's model.
MODEL_KINDS: dict[type, ModelKind] = {
    BlackScholesParams: ModelKind.BLACK_SCHOLES,
    HestonParams: ModelKind.HESTON,
    BatesParams: ModelKind.BATES,
}
