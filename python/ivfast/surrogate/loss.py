"""Training loss of the surrogate (torch): weighted Huber + Sobolev smoothness of the error.

For predicted and true grids ``p, y`` of shape (n, n_taus, n_strikes) and the error ``e = p - y``::

    L = mean[W_j huber_delta(e_ij)] + alpha mean[(D2_K e)^2] + beta mean[(D2_T e)^2]

* ``huber_delta`` is quadratic below ``delta`` (vol units) and linear above;
* ``W_j = otm_put_weight`` on out-of-the-money put strikes (K / spot < ``otm_put_moneyness``),
  1 elsewhere: the OTM-put wing is the hardest region to fit, so it counts double by default;
* ``D2_K e`` and ``D2_T e`` are second differences along strikes and along maturities
  (``e[i+1] - 2 e[i] + e[i-1]`` over grid indices).

This is the loss of the reference residual-MLP / PCA-head Heston-surrogate notebook (see
``docs/references.md``), with the Sobolev terms on the *error* rather than on the prediction:
penalising the prediction's own curvature pulls every smile towards a straight line (a bias of
the order of alpha times the true curvature), while penalising the error's curvature asks the
network to match the true surface's second differences (Sobolev training, Czarnecki et al. 2017)
and vanishes at the true surface. Defaults: delta 0.1, alpha = beta = 0.01, OTM-put weight 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

__all__ = ["SurrogateLoss", "LossWeights", "second_difference"]


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (module docstring).

    Attributes
    ----------
    huber_delta : float, default 0.1
        Huber threshold delta in vol units (0.01 is one vol point), > 0.
    sobolev_strike : float, default 0.01
        Weight alpha of the squared second differences of the error along strikes, >= 0.
    sobolev_tau : float, default 0.01
        Weight beta of the squared second differences of the error along maturities, >= 0.
    otm_put_weight : float, default 2.0
        Weight W of the Huber term at OTM-put strikes, > 0.
    otm_put_moneyness : float, default 0.95
        Strikes (relative to spot) below this are OTM puts, > 0.

    Raises
    ------
    ValueError
        For a weight outside these ranges.
    """

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
    """Compute the second difference ``e[i+1] - 2 e[i] + e[i-1]`` along ``dim``.

    Parameters
    ----------
    e : torch.Tensor
        Any shape with at least 3 entries along ``dim``.
    dim : int
        Axis of the difference.

    Returns
    -------
    torch.Tensor
        Like ``e`` with 2 fewer entries along ``dim``.
    """
    n = e.shape[dim]
    return e.narrow(dim, 2, n - 2) - 2.0 * e.narrow(dim, 1, n - 2) + e.narrow(dim, 0, n - 2)


class SurrogateLoss(torch.nn.Module):
    """The loss of the module docstring for grids with the given strikes; calling it returns the total.

    :meth:`terms` returns the three terms separately (for logging and tests).

    Parameters
    ----------
    strikes : array_like, shape (n_strikes,)
        Strikes of the grid relative to spot (they set the OTM-put weights).
    weights : LossWeights, optional
        Term weights (default :class:`LossWeights()`).
    """

    strike_weight: torch.Tensor

    def __init__(self, strikes: ArrayLike, weights: LossWeights | None = None) -> None:
        super().__init__()
        self.weights = weights or LossWeights()
        otm_put = np.asarray(strikes, dtype=np.float64) < self.weights.otm_put_moneyness
        self.register_buffer("strike_weight", torch.as_tensor(np.where(otm_put, self.weights.otm_put_weight, 1.0),
                                                              dtype=torch.get_default_dtype()))

    def terms(self, pred: torch.Tensor, true: torch.Tensor) -> dict[str, torch.Tensor]:
        """Compute the three loss terms, unweighted by alpha and beta.

        Parameters
        ----------
        pred, true : torch.Tensor, shape (n, n_taus, n_strikes)
            Predicted and true implied vols.

        Returns
        -------
        dict
            ``huber`` (strike-weighted mean), ``sobolev_strike`` and ``sobolev_tau`` (mean squared
            second differences of the error), scalar tensors.
        """
        e = pred - true
        w = self.weights
        huber = torch.nn.functional.huber_loss(pred, true, reduction="none", delta=w.huber_delta)
        return {"huber": (self.strike_weight.to(e.dtype) * huber).mean(),
                "sobolev_strike": second_difference(e, -1).square().mean(),
                "sobolev_tau": second_difference(e, -2).square().mean()}

    def forward(self, pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
        """Compute the total loss.

        Parameters
        ----------
        pred, true : as in :meth:`terms`

        Returns
        -------
        torch.Tensor
            Scalar ``huber + alpha sobolev_strike + beta sobolev_tau``.
        """
        t = self.terms(pred, true)
        w = self.weights
        return t["huber"] + w.sobolev_strike * t["sobolev_strike"] + w.sobolev_tau * t["sobolev_tau"]
