"""Loss terms of the deep-smoothing fit (Ackerer, Tagasovska & Vatter 2020; the seed's weights).

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
    """Root (weighted) mean squared implied-vol error."""
    return torch.sqrt(_mean((model_iv - iv).square(), weights))


def mape(model_iv: torch.Tensor, iv: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """(Weighted) mean absolute relative implied-vol error."""
    return _mean((model_iv - iv).abs() / iv, weights)


def calendar_penalty(w_tau: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """``mean relu(margin - dw/dtau)``: calendar-spread arbitrage where dw/dtau < 0."""
    return torch.relu(margin - w_tau).mean()


def butterfly_penalty(g: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    """``mean relu(margin - g)``: butterfly arbitrage where g < 0."""
    return torch.relu(margin - g).mean()


def asym_penalty(w_kk: torch.Tensor) -> torch.Tensor:
    """``mean |d2w/dk2|`` at large |k|: total variance should be linear in k in the wings."""
    return w_kk.abs().mean()


def atm_penalty(w_nn: torch.Tensor) -> torch.Tensor:
    """``sqrt(mean (1 - w_nn)^2)`` at k = 0: the prior alone should carry the ATM term structure."""
    return torch.sqrt((1.0 - w_nn).square().mean())


def lee_penalty(k: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``mean relu(w/|k| - 2)``: Lee's moment formula bounds the wing slope of w by 2."""
    return torch.relu(w / k.abs() - 2.0).mean()
