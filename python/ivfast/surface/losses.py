"""Loss terms of the deep-smoothing fit (Ackerer, Tagasovska & Vatter 2020).

Their weights are :class:`~ivfast.surface.SmoothingConfig`'s ``lambda_*`` fields.

All functions take tensors and return a scalar tensor; the derivatives come from
:class:`ivfast.surface.model.SurfaceModel`.
"""

from __future__ import annotations

import torch

__all__ = [
    "rmse",
    "mape",
    "calendar_penalty",
    "butterfly_penalty",
    "asym_penalty",
    "atm_penalty",
    "lee_penalty",
]


def _mean(x: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    return x.mean() if weights is None else (x * weights).sum() / weights.sum()


def rmse(model_iv: torch.Tensor, iv: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Root (weighted) mean squared implied-vol error.

    Parameters
    ----------
    model_iv, iv : torch.Tensor
        Model and quoted implied vols, one per quote (vol units: 0.01 is one vol point).
    weights : torch.Tensor, optional
        Non-negative quote weights (None: equal).

    Returns
    -------
    torch.Tensor
        Scalar, in vol units.
    """
    return torch.sqrt(_mean((model_iv - iv).square(), weights))


def mape(model_iv: torch.Tensor, iv: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """(Weighted) mean absolute relative implied-vol error.

    Parameters
    ----------
    model_iv, iv : torch.Tensor
        Model and quoted implied vols (> 0), one per quote.
    weights : torch.Tensor, optional
        Non-negative quote weights (None: equal).

    Returns
    -------
    torch.Tensor
        Scalar, dimensionless.
    """
    return _mean((model_iv - iv).abs() / iv, weights)


def calendar_penalty(w_tau: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """``mean relu(margin - dw/dtau)``: calendar-spread arbitrage where dw/dtau < 0.

    Parameters
    ----------
    w_tau : torch.Tensor
        dw/dtau (per year) at the collocation points.
    margin : float
        Penalise values below this, not only below 0.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return torch.relu(margin - w_tau).mean()


def butterfly_penalty(g: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """``mean relu(margin - g)``: butterfly arbitrage where g < 0.

    Parameters
    ----------
    g : torch.Tensor
        Gatheral-Jacquier density factor (:func:`ivfast.arbitrage.density.butterfly_g`) at the
        collocation points.
    margin : as in :func:`calendar_penalty`

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return torch.relu(margin - g).mean()


def asym_penalty(w_kk: torch.Tensor) -> torch.Tensor:
    """``mean |d2w/dk2|`` at large |k|: total variance should be linear in k in the wings.

    Parameters
    ----------
    w_kk : torch.Tensor
        d2w/dk2 at the large-moneyness points.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return w_kk.abs().mean()


def atm_penalty(w_nn: torch.Tensor) -> torch.Tensor:
    """``sqrt(mean (1 - w_nn)^2)`` at k = 0: the prior alone should carry the ATM term structure.

    Parameters
    ----------
    w_nn : torch.Tensor
        Network factor at the ATM points.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return torch.sqrt((1.0 - w_nn).square().mean())


def lee_penalty(k: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``mean relu(w/|k| - 2)``: Lee's moment formula bounds the wing slope of w by 2.

    Parameters
    ----------
    k : torch.Tensor
        Log-moneyness ``ln(K/F)`` of the wing points (non-zero).
    w : torch.Tensor
        Total variance there.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return torch.relu(w / k.abs() - 2.0).mean()
