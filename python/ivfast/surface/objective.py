"""The training objective on one batch of quotes and collocation points.

The loss is that of Ackerer, Tagasovska & Vatter (2020) as the reference deep-smoothing script
weights it (docs/references.md), plus Lee's wing bound and small margins on the calendar and
butterfly penalties (:class:`~ivfast.surface.SmoothingConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..arbitrage.density import butterfly_g
from . import losses
from .collocation import Collocation
from .config import SmoothingConfig
from .model import SurfaceModel

__all__ = ["LossTerms", "evaluate_loss", "LOSS_COLUMNS"]

LOSS_COLUMNS = ("loss", "rmse", "mape", "calendar", "butterfly", "asym", "atm", "lee")


@dataclass
class LossTerms:
    """Total loss and its terms (scalar tensors; ``total`` carries the graph)."""

    total: torch.Tensor
    rmse: torch.Tensor
    mape: torch.Tensor
    calendar: torch.Tensor
    butterfly: torch.Tensor
    asym: torch.Tensor
    atm: torch.Tensor
    lee: torch.Tensor

    def values(self) -> dict[str, float]:
        """Return the terms as Python floats.

        Returns
        -------
        dict of str to float
            Keyed by :data:`LOSS_COLUMNS` (``'loss'`` is the total).
        """
        terms = (self.total, self.rmse, self.mape, self.calendar, self.butterfly, self.asym, self.atm, self.lee)
        return dict(zip(LOSS_COLUMNS, torch.stack([t.detach() for t in terms]).tolist()))


def evaluate_loss(model: SurfaceModel, points: Collocation, iv: torch.Tensor, weights: torch.Tensor | None,
                  config: SmoothingConfig) -> LossTerms:
    """Evaluate L = RMSE + MAPE + l_cal L_cal + l_but L_but + l_asym L_asym + l_atm L_atm + l_lee L_lee.

    One forward pass over the whole batch gives w and its k/tau derivatives everywhere.

    Parameters
    ----------
    model : SurfaceModel
        The model being trained.
    points : Collocation
        The batch: collocation points and quotes.
    iv : torch.Tensor
        Quoted Black implied vols, in the order of the batch's quotes.
    weights : torch.Tensor, optional
        Quote weights in RMSE and MAPE (None: equal).
    config : SmoothingConfig
        Penalty weights ``lambda_*`` and margins.

    Returns
    -------
    LossTerms
        The total (with its graph) and each term.
    """
    w, w_k, w_kk, w_t, w_nn = model(points.k, points.tau, points.n_jet)
    q, arb, wing = points.quotes, points.arbitrage, points.wings
    model_iv = torch.sqrt(w[q] / points.tau[q])
    rmse = losses.rmse(model_iv, iv, weights)
    mape = losses.mape(model_iv, iv, weights)
    g = butterfly_g(w[arb], w_k[arb], w_kk[arb], points.k[arb])
    calendar = losses.calendar_penalty(w_t[arb], config.margin_calendar)
    butterfly = losses.butterfly_penalty(g, config.margin_butterfly)
    asym = losses.asym_penalty(w_kk[wing])
    atm = losses.atm_penalty(w_nn[points.atm])
    lee = losses.lee_penalty(points.k[wing], w[wing])
    total = (rmse + mape + config.lambda_calendar * calendar + config.lambda_butterfly * butterfly
             + config.lambda_asym * asym + config.lambda_atm * atm + config.lambda_lee * lee)
    return LossTerms(total, rmse, mape, calendar, butterfly, asym, atm, lee)
