"""Model parameter sets for Fourier pricing: Black–Scholes, Heston and Bates.

Each is a frozen dataclass that checks its domain on construction and raises ``ValueError`` naming
the offending field; every field is stored as a float. Variances and volatilities are annualised
(variance in vol squared per year, 0.01 vol = one vol point); rates and intensities are per year.
The field order is the compiled engine's parameter layout (:meth:`as_tuple`, and the columns of
``param_array`` in :func:`ivfast.call_prices_batch`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from typing import TYPE_CHECKING, Union

from ._core import ModelKind

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["BlackScholesParams", "HestonParams", "BatesParams", "MODEL_KINDS", "DOMAIN"]


# field -> (predicate on a float or an ndarray, what is expected); shared by the dataclasses and the
# vectorised check of parameter arrays in the batch API.
DOMAIN: dict[str, tuple[Callable[[Union[float, NDArray[np.float64]]], Union[bool, NDArray[np.bool_]]], str]] = {
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
        """Return the fields in declaration order (the compiled engine's parameter layout).

        Returns
        -------
        tuple of float
            One value per dataclass field, in declaration order.
        """
        return astuple(self)  # type: ignore[call-overload]


class _StochasticVariance(_ValidatedParams):
    @property
    def feller_satisfied(self) -> bool:
        """Whether 2 kappa theta >= sigma^2 (variance never reaches 0); pricing does not need it."""
        return 2.0 * self.kappa * self.theta >= self.sigma**2  # type: ignore[attr-defined]


@dataclass(frozen=True)
class BlackScholesParams(_ValidatedParams):
    """Black–Scholes (log-normal) model with constant volatility.

    Attributes
    ----------
    vol : float
        Annualised volatility, > 0.
    """

    vol: float


@dataclass(frozen=True)
class HestonParams(_StochasticVariance):
    """Heston stochastic-volatility model.

    dS/S = (r - q) dt + sqrt(v) dW1,  dv = kappa (theta - v) dt + sigma sqrt(v) dW2,  d<W1, W2> = rho dt.

    Attributes
    ----------
    v0 : float
        Initial variance (vol squared), >= 0.
    kappa : float
        Mean-reversion speed per year, > 0.
    theta : float
        Long-run variance (vol squared), > 0.
    sigma : float
        Volatility of variance, > 0.
    rho : float
        Correlation of spot and variance shocks, strictly inside (-1, 1).
    """

    v0: float
    kappa: float
    theta: float
    sigma: float
    rho: float


@dataclass(frozen=True)
class BatesParams(_StochasticVariance):
    """Bates model: Heston plus log-normal jumps, parameterised by the mean relative jump.

    Jumps arrive with intensity ``lam`` per year; a jump multiplies the price by 1 + J with
    ln(1 + J) ~ N(ln(1 + beta) - alpha^2 / 2, alpha^2), so E[J] = ``beta``; the drift is compensated
    by -lam * beta.

    Attributes
    ----------
    v0, kappa, theta, sigma, rho : float
        The Heston part, as in :class:`HestonParams`.
    lam : float
        Jump intensity per year, >= 0.
    beta : float
        Mean relative jump E[J], > -1.
    alpha : float
        Volatility of the log-jump ln(1 + J), >= 0.
    """

    v0: float
    kappa: float
    theta: float
    sigma: float
    rho: float
    lam: float
    beta: float
    alpha: float


ModelParams = Union[BlackScholesParams, HestonParams, BatesParams]
"""Any of the parameter sets the Fourier pricer takes."""

# Model class -> the compiled engine's model.
MODEL_KINDS: dict[type[ModelParams], ModelKind] = {
    BlackScholesParams: ModelKind.BLACK_SCHOLES,
    HestonParams: ModelKind.HESTON,
    BatesParams: ModelKind.BATES,
}
