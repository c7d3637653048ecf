"""Training loss of the surrogate (torch): weighted Huber + Sobolev smoothness of the error.

For predicted and true grids ``p, y`` of shape (n, n_taus, n_strikes) and the error ``e = p - y``::

    L = mean[W_j huber_delta(e_ij)] + alpha mean[(D2_K e)^2] + beta mean[(D2_T e)^2]

* ``huber_delta`` is quadratic below ``delta`` (vol units) and linear above;
* ``W_j = otm_put_weight`` on out-of-the-money put strikes (K / spot < ``otm_put_moneyness``),
  1 elsewhere (the seed weights its OTM-put region, the hardest to fit, by 2);
* ``D2_K e`` and ``D2_T e`` are second differences along strikes and along maturities
  (``e[i+1] - 2 e[i] + e[i-1]`` over grid indices).

The Sobolev terms act on the *error*, not on the prediction as in the seed: penalising the
prediction's own curvature pulls every smile towards a straight line (a bias of the order of
alpha times the true curvature), while penalising the error's curvature asks the network to match
the true surface's second differences (Sobolev training, Czarnecki et al. 2017) and vanishes at
the true surface. Defaults are the seed's: delta 0.1, alpha = beta = 0.01, OTM-put weight 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["SurrogateLoss", "LossWeights", "second_difference"]


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (the seed's values by default)."""

    huber_delta: float = 0.1
    sobolev_strike: float = 0.01
    sobolev_tau: float = 0.01
    otm_put_weight: float = 2.0
    otm_put_moneyness: float = 0.95

    def __post_init__(self) -> None:
        for name in ("huber_delta", "otm_put_weight", "otm_put_moneyness"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected > 0, got {getattr(self, name)!r}")
        for name in ("sobolev_strike", "sobolev_tau"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}: expected >= 0, got {getattr(self, name)!r}")


def second_difference(e: torch.Tensor, dim: int) -> torch.Tensor:
    """``e[i+1] - 2 e[i] + e[i-1]`` along ``dim`` (length shrinks by 2)."""
    n = e.shape[dim]
    return e.narrow(dim, 2, n - 2) - 2.0 * e.narrow(dim, 1, n - 2) + e.narrow(dim, 0, n - 2)


class SurrogateLoss(torch.nn.Module):
    """The loss above for grids with strikes ``strikes`` (relative to spot); returns the total.

    :meth:`terms` returns the three terms separately (for logging and tests).
    """

    def __init__(self, strikes, weights: LossWeights | None = None) -> None:
        super().__init__()
        self.weights = weights or LossWeights()
        otm_put = np.asarray(strikes, dtype=np.float64) < self.weights.otm_put_moneyness
        self.register_buffer("strike_weight", torch.as_tensor(np.where(otm_put, self.weights.otm_put_weight, 1.0),
                                                              dtype=torch.get_default_dtype()))

    def terms(self, pred: torch.Tensor, true: torch.Tensor) -> dict[str, torch.Tensor]:
        e = pred - true
        w = self.weights
        huber = torch.nn.functional.huber_loss(pred, true, reduction="none", delta=w.huber_delta)
        return {"huber": (self.strike_weight.to(e.dtype) * huber).mean(),
                "sobolev_strike": second_difference(e, -1).square().mean(),
                "sobolev_tau": second_difference(e, -2).square().mean()}

    def forward(self, pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
        t = self.terms(pred, true)
        w = self.weights
        return t["huber"] + w.sobolev_strike * t["sobolev_strike"] + w.sobolev_tau * t["sobolev_tau"]
