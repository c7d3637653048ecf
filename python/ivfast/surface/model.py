"""The deep-smoothing total variance w(k, tau) = w_prior(k, tau) * w_nn(k, tau) with derivatives.

A completed surface may carry a fitted spline factor as well (``w = w_prior * exp(h)``,
:class:`~ivfast.surface.correction.SplineCorrection`).
"""

from __future__ import annotations

import torch

from .atm import MonotoneATMCurve
from .correction import SplineCorrection
from .network import CorrectionNetwork
from .prior import SSVIPrior

__all__ = ["SurfaceModel", "SurfaceJet"]


class SurfaceJet(tuple):
    """``(w, w_k, w_kk, w_tau, w_nn)``: total variance, its derivatives and the network factor.

    Parameters
    ----------
    w : torch.Tensor
        Total variance ``sigma^2 tau``.
    w_k, w_kk, w_tau : torch.Tensor
        dw/dk, d2w/dk2 and dw/dtau (per year).
    w_nn : torch.Tensor
        Network factor (ones for a prior-only model).
    """

    __slots__ = ()

    def __new__(cls, w: torch.Tensor, w_k: torch.Tensor, w_kk: torch.Tensor, w_tau: torch.Tensor,
                w_nn: torch.Tensor) -> SurfaceJet:
        """Build the tuple from its five fields (see the class docstring)."""
        return super().__new__(cls, (w, w_k, w_kk, w_tau, w_nn))

    w = property(lambda self: self[0])
    w_k = property(lambda self: self[1])
    w_kk = property(lambda self: self[2])
    w_tau = property(lambda self: self[3])
    w_nn = property(lambda self: self[4])


class SurfaceModel(torch.nn.Module):
    """ATM curve (fixed) x SSVI prior x correction network (``network=None``: prior only) x spline factor.

    Parameters
    ----------
    atm : MonotoneATMCurve
        The fixed ATM total-variance curve theta(tau).
    prior : SSVIPrior
        The SSVI prior on that curve.
    network : CorrectionNetwork or None
        The multiplicative correction; None for the prior-only model.
    correction : SplineCorrection or None
        A fitted multiplicative spline factor (completed surfaces, :mod:`ivfast.completion.correction`).
    """

    def __init__(self, atm: MonotoneATMCurve, prior: SSVIPrior, network: CorrectionNetwork | None,
                 correction: SplineCorrection | None = None) -> None:
        super().__init__()
        self.atm = atm
        self.prior = prior
        self.network = network
        self.correction = correction

    def forward(self, k: torch.Tensor, tau: torch.Tensor, n_jet: int | None = None) -> SurfaceJet:
        """Evaluate at flat float64 tensors ``k`` and ``tau`` of equal length.

        Parameters
        ----------
        k, tau : torch.Tensor
            Log-moneyness ``ln(K/F)`` and years to expiry (> 0).
        n_jet : int, optional
            The derivatives cover the first ``n_jet`` points only (default all).

        Returns
        -------
        SurfaceJet
            ``w`` and ``w_nn`` at all points, the derivatives at the first ``n_jet``.
        """
        n = k.shape[0] if n_jet is None else n_jet
        theta, dtheta = self.atm(tau)
        p, p_k, p_kk, p_t = self.prior(k, theta, dtheta)
        jet = (p, p_k[:n], p_kk[:n], p_t[:n])
        v = torch.ones_like(p)
        if self.network is not None:
            v_jet = self.network(k, tau, n)
            jet, v = _product(jet, v_jet, n), v_jet[0]
        if self.correction is not None:
            jet = _product(jet, self.correction(k, tau, n), n)
        return SurfaceJet(*jet, v)


def _product(a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...], n: int
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The jet of a product: values at all points, derivatives at the first ``n``."""
    a_n, b_n = a[0][:n], b[0][:n]
    return (a[0] * b[0], a[1] * b_n + a_n * b[1], a[2] * b_n + 2.0 * a[1] * b[1] + a_n * b[2],
            a[3] * b_n + a_n * b[3])
