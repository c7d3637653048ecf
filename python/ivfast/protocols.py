"""The total-variance surface interface shared by SVI/SSVI fits, deep-smoothing fits and the
arbitrage checks.

Conventions: ``k = ln(K/F)`` log-moneyness against the forward, ``tau`` year fraction,
total implied variance ``w(k, tau) = sigma_BS(k, tau)^2 * tau`` (dimensionless). All methods
broadcast ``k`` and ``tau`` with NumPy rules and return float64 arrays.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["TotalVarianceSurface", "DifferentiableSurface"]


@runtime_checkable
class TotalVarianceSurface(Protocol):
    """Anything that evaluates total implied variance and implied volatility on (k, tau)."""

    def total_variance(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray:
        """Total implied variance w(k, tau) >= 0."""
        ...

    def implied_vol(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray:
        """Black implied volatility sqrt(w / tau)."""
        ...


@runtime_checkable
class DifferentiableSurface(TotalVarianceSurface, Protocol):
    """A surface that also gives exact (analytic or autograd) derivatives of w."""

    def total_variance_derivatives(
        self, k: ArrayLike, tau: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(w, dw/dk, d2w/dk2, dw/dtau)`` with the broadcast shape of k and tau."""
        ...
