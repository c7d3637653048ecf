"""A completed surface: power-law SSVI on the quotes' ATM curve, with the interface of a deep-smoothing fit.

It is a :class:`ivfast.surface.FittedSurface` whose model is the prior alone (no network), so
evaluation, exact derivatives, call prices, save/load, TorchScript/.pt2 export and the warm start
of :func:`ivfast.fit_surface` are those of a fit, unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike, NDArray

from ..arbitrage import ArbitrageReport, check_surface
from ..surface.atm import MonotoneATMCurve
from ..surface.config import SmoothingConfig
from ..surface.correction import SplineCorrection
from ..surface.fitted import FittedSurface
from ..surface.inputs import Quotes
from ..surface.model import SurfaceModel
from ..surface.prior import SSVIPrior
from ..svi.atm import SoftplusCurve

__all__ = ["CompletedSurface", "dense_grid"]

_K_PAD = 0.25
"""The default check grid extends the quoted k range by this fraction of its width on each side."""
_GRID = (201, 60)
"""Default check grid size (k x tau): denser than any training or penalty grid."""


def dense_grid(k: NDArray[np.float64], tau: NDArray[np.float64], size: tuple[int, int] = _GRID
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The dense (k, tau) audit grid around quotes.

    Parameters
    ----------
    k, tau : ndarray
        Quoted log-moneyness and years.
    size : tuple of 2 int
        Points in k and in tau.

    Returns
    -------
    k_grid, tau_grid : ndarray
        k evenly over the quoted range widened by a quarter of its width each side; tau
        log-spaced from half the shortest to 1.5 times the longest maturity.
    """
    lo, hi = float(k.min()), float(k.max())
    pad = _K_PAD * max(hi - lo, 0.1)
    return (np.linspace(lo - pad, hi + pad, size[0]),
            np.geomspace(0.5 * float(tau.min()), 1.5 * float(tau.max()), size[1]))


class CompletedSurface(FittedSurface):
    """A surface completed from sparse quotes by :func:`ivfast.complete_surface`.

    ``w(k, tau) = w_SSVI(k, theta(tau); rho, gamma, eta)`` with the power-law curvature and the
    quotes' softplus ATM curve theta: the parameters lie in Gatheral & Jacquier's sufficient set
    and theta is strictly increasing, so the surface has no calendar or butterfly arbitrage and
    meets Lee's wing bound everywhere (not only on a grid). Implements
    :class:`ivfast.protocols.DifferentiableSurface` (methods of :class:`ivfast.surface.FittedSurface`).

    Parameters
    ----------
    curve : SoftplusCurve
        The ATM curve theta(tau).
    raw : array_like, shape (3,)
        Unconstrained ``(raw_rho, raw_gamma, raw_eta)`` (:func:`ivfast.svi.ssvi.power_law_from_raw`).
    quotes : Quotes
        The quotes it was completed from.
    info : dict
        How it was made (network output, refinement, timings).
    correction : SplineCorrection, optional
        A spline factor fitted to the quotes (``complete_surface(..., correct=True)``,
        :mod:`ivfast.completion.correction`); the surface is then certified by its dense check
        on the splines' support and by the SSVI's parameters outside it.
    """

    def __init__(self, curve: SoftplusCurve, raw: ArrayLike, quotes: Quotes, info: dict[str, Any],
                 correction: SplineCorrection | None = None) -> None:
        prior = SSVIPrior()
        raw = np.asarray(raw, dtype=np.float64)
        with torch.no_grad():
            for p, value in zip((prior.raw_rho, prior.raw_gamma, prior.raw_eta), raw):
                p.fill_(float(value))
        model = SurfaceModel(MonotoneATMCurve.from_curve(curve), prior, None, correction).eval()
        config = SmoothingConfig(use_network=False, progress=False)
        super().__init__(model, config, pd.DataFrame(), quotes, info)
        self.curve = curve

    def __repr__(self) -> str:
        p = self.prior_parameters()
        return (f"CompletedSurface(n_quotes={self.quotes.k.size}, rho={p['rho']:.4f}, gamma={p['gamma']:.4f}, "
                f"eta={p['eta']:.4f}, corrected={self.model.correction is not None})")

    def check(self, k: ArrayLike | None = None, tau: ArrayLike | None = None, tol: float = 0.0) -> ArbitrageReport:
        """Audit the surface for static arbitrage with :func:`ivfast.arbitrage.check_surface`.

        Parameters
        ----------
        k, tau : array_like, optional
            Check grid (default :func:`dense_grid` around the quotes: 201 x 60).
        tol : float
            As in :func:`ivfast.arbitrage.check_surface`.

        Returns
        -------
        ArbitrageReport
        """
        dk, dtau = dense_grid(self.quotes.k, self.quotes.tau)
        return check_surface(self, k=dk if k is None else k, tau=dtau if tau is None else tau, tol=tol)
