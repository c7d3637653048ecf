"""The total-variance surface interface shared by SVI/SSVI fits, deep-smoothing fits and the arbitrage checks.

Conventions: ``k = ln(K/F)`` log-moneyness against the forward, ``tau`` year fraction,
total implied variance ``w(k, tau) = sigma_BS(k, tau)^2 * tau`` (dimensionless). All methods
broadcast ``k`` and ``tau`` with NumPy rules and return float64 arrays of the broadcast shape.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["TotalVarianceSurface", "DifferentiableSurface"]


@runtime_checkable
class TotalVarianceSurface(Protocol):
    """Anything that evaluates total implied variance and implied volatility on (k, tau).

    A structural protocol: any object with these two methods qualifies (``isinstance`` checks
    that the methods exist, not their signatures).

    Parameters
    ----------
    *args, **kwargs
        None: a protocol is not instantiated; implementations take their own arguments.
    """

    def total_variance(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray:
        """Total implied variance w(k, tau).

        Parameters
        ----------
        k : array_like
            Log-moneyness ``ln(K/F)``.
        tau : array_like
            Maturity in years, broadcastable with ``k``.

        Returns
        -------
        ndarray
            ``w = sigma^2 tau >= 0``, float64 with the broadcast shape of ``k`` and ``tau``.
        """
        ...

    def implied_vol(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray:
        """Black implied volatility ``sqrt(w / tau)``.

        Parameters
        ----------
        k, tau : as in :meth:`TotalVarianceSurface.total_variance` (``tau > 0``)

        Returns
        -------
        ndarray
            Annualised implied volatility (0.01 is one vol point), float64 with the broadcast
            shape of ``k`` and ``tau``.
        """
        ...


@runtime_checkable
class DifferentiableSurface(TotalVarianceSurface, Protocol):
    """A :class:`TotalVarianceSurface` that also gives exact (analytic or autograd) derivatives of w.

    The arbitrage checks use these instead of finite differences when a surface has them.

    Parameters
    ----------
    *args, **kwargs
        None: a protocol is not instantiated; implementations take their own arguments.
    """

    def total_variance_derivatives(
        self, k: ArrayLike, tau: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Total variance and its derivatives at (k, tau).

        Parameters
        ----------
        k, tau : as in :meth:`TotalVarianceSurface.total_variance`

        Returns
        -------
        tuple of four ndarray
            ``(w, dw/dk, d2w/dk2, dw/dtau)``, each float64 with the broadcast shape of ``k``
            and ``tau``.
        """
        ...
