"""The deep-smoothing total variance w(k, tau) = w_prior(k, tau) * w_nn(k, tau) with derivatives."""

from __future__ import annotations

import torch

from .atm import MonotoneATMCurve
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
    """ATM curve (fixed) x SSVI prior x correction network (``network=None``: prior only).

    Parameters
    ----------
    atm : MonotoneATMCurve
        The fixed ATM total-variance curve theta(tau).
    prior : SSVIPrior
        The SSVI prior on that curve.
    network : CorrectionNetwork or None
        The multiplicative correction; None for the prior-only model.
    """

    def __init__(self, atm: MonotoneATMCurve, prior: SSVIPrior, network: CorrectionNetwork | None) -> None:
        super().__init__()
        self.atm = atm
        self.prior = prior
        self.network = network

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
        if self.network is None:
            return SurfaceJet(p, p_k[:n], p_kk[:n], p_t[:n], torch.ones_like(p))
        v, v_k, v_kk, v_t = self.network(k, tau, n)
        p_n, v_n = p[:n], v[:n]
        p_k, p_kk, p_t = p_k[:n], p_kk[:n], p_t[:n]
        return SurfaceJet(p * v, p_k * v_n + p_n * v_k, p_kk * v_n + 2.0 * p_k * v_k + p_n * v_kk,
                          p_t * v_n + p_n * v_t, v)
