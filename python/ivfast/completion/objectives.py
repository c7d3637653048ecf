"""Training losses of the two heads.

``"ssvi"``: Huber loss (quadratic below a 5 % relative error, linear above) of the relative vol
error of the SSVI surface the network's parameters give, on every point of each surface (hidden
and visible), surfaces weighted equally. The linear tail keeps the few points that no SSVI on
the visible quotes' ATM curve can reach (maturities far outside the visible ones) from
dominating a batch.

``"iv"`` (the published IvySPT): MSE of the standardised vols at the hidden points plus the soft
calendar and butterfly terms at collocation points, with the Gatheral-Jacquier g of
:func:`ivfast.arbitrage.density.butterfly_g` (the square on w') and the hinge penalties of
:mod:`ivfast.surface.losses`. The hinge is linear (as in ivfast's deep smoothing) where the
published loss squares it: a squared hinge fades as violations shrink and leaves small ones in.
The derivatives of w = iv^2 tau in a query's own (k, tau) come from autograd; they are exact
because queries attend to observed tokens only (:mod:`ivfast.completion.model`).
"""

from __future__ import annotations

import torch

from ..arbitrage.density import butterfly_g
from ..surface.losses import butterfly_penalty, calendar_penalty
from ..svi.ssvi import power_law_from_raw, power_law_phi, ssvi_total_variance
from .batches import IvBatch, SSVIBatch
from .model import CompletionNet

__all__ = ["ssvi_loss", "iv_loss"]

_HUBER = 0.05


def ssvi_loss(net: CompletionNet, batch: SSVIBatch) -> torch.Tensor:
    """Huber loss of the relative vol errors of the predicted SSVI surfaces (module docstring).

    Parameters
    ----------
    net : CompletionNet
        An ``"ssvi"``-head network.
    batch : SSVIBatch
        The batch.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    raw = net(batch.tokens).double()
    rho, gamma, eta = power_law_from_raw(raw[:, 0:1], raw[:, 1:2], raw[:, 2:3])
    phi = power_law_phi(batch.theta, eta, gamma)[0]
    iv = torch.sqrt(ssvi_total_variance(batch.k, batch.theta, phi, rho) / batch.tau)
    rel = (iv - batch.target) / batch.target
    err = torch.nn.functional.huber_loss(rel, torch.zeros_like(rel), reduction="none", delta=_HUBER) * batch.valid
    return (err.sum(1) / batch.valid.sum(1)).mean()


def iv_loss(net: CompletionNet, batch: IvBatch, penalty_batch: IvBatch | None, lambda_calendar: float,
            lambda_butterfly: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The published IvySPT loss (module docstring).

    Parameters
    ----------
    net : CompletionNet
        An ``"iv"``-head network.
    batch : IvBatch
        Hidden queries: the MSE term.
    penalty_batch : IvBatch, optional
        Collocation points: the soft no-arbitrage terms (a separate, smaller pass, since the
        second derivatives cost several times the first-order pass; None: no penalty).
    lambda_calendar, lambda_butterfly : float
        Weights of the soft no-arbitrage terms (0 for the ablation without them).

    Returns
    -------
    loss : torch.Tensor
        Scalar.
    terms : dict
        ``mse``, ``calendar``, ``butterfly`` as floats.
    """
    iv = net(batch.tokens)
    scale = net.input_std[2]
    mse = (((iv - batch.target) / scale).square() * batch.hidden).sum() / batch.hidden.sum().clamp_min(1)
    cal = but = torch.zeros((), dtype=mse.dtype)
    if penalty_batch is not None and (lambda_calendar or lambda_butterfly):
        t, c = penalty_batch.tokens, penalty_batch.collocation
        t.k.requires_grad_(True)
        t.tau.requires_grad_(True)
        w = net(t).square() * t.tau
        w_k, w_t = torch.autograd.grad((w * c).sum(), [t.k, t.tau], create_graph=True)
        w_kk = torch.autograd.grad((w_k * c).sum(), t.k, create_graph=True)[0]
        cal = calendar_penalty(w_t[c])
        but = butterfly_penalty(butterfly_g(w[c], w_k[c], w_kk[c], t.k[c]))
    loss = mse + lambda_calendar * cal + lambda_butterfly * but
    return loss, {"mse": float(mse.detach()), "calendar": float(cal.detach()), "butterfly": float(but.detach())}
