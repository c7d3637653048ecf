"""Quote warm-up: the first part of a time-limited fit spent on the quote terms alone.

An epoch of the full objective carries w, dw/dk, d2w/dk2 and dw/dtau through the network at
every collocation point (about 770 rows of the batch on a real chain), and that is most of its
cost. The quote terms need w at the quotes only. On SPY 2025-09-25, whose cent-wide quotes need
thousands of epochs, a fit that spends the first 20 of its 45 s on the quote terms alone (three
times the epochs per second: bench/bench_fit_epoch.py) and the rest on the full objective ends
with 87-89 % of the quotes inside their bid-ask interval, against 73-79 % with the full
objective throughout (bench/README.md, "``ivfast fit`` on real chains"). The penalties, the
periodic check and the certificate then see every state that can be returned: no state of the
warm-up is kept as a best state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from . import losses
from .collocation import Collocation
from .config import SmoothingConfig
from .model import SurfaceModel
from .objective import QuoteTargets
from .progress import FitProgress

__all__ = ["WarmUp", "warm_up"]


@dataclass(frozen=True)
class WarmUp:
    """What the warm-up did.

    Attributes
    ----------
    epochs : int
        Adam steps on the quote terms.
    seconds : float
        Wall time of the warm-up.
    inside, worst_inside : float
        Share of the loss's quotes inside bid-ask at its end, overall and at the worst maturity
        (NaN without bid-ask vols or without epochs).
    """

    epochs: int
    seconds: float
    inside: float
    worst_inside: float

    def info(self) -> dict[str, float]:
        """Return the fit-information entries ``warmup_epochs`` and ``warmup_seconds``.

        Returns
        -------
        dict of str to float
        """
        return {"warmup_epochs": self.epochs, "warmup_seconds": self.seconds}


def _quote_loss(model: SurfaceModel, points: Collocation, targets: QuoteTargets,
                config: SmoothingConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The objective's quote terms and ATM term, from one value-only pass (no derivatives)."""
    q, atm = points.quotes, points.atm
    rows = slice(q.start, atm.stop)  # the batch lays the ATM points right after the quotes
    w, _, _, _, w_nn = model(points.k[rows], points.tau[rows], 0)
    n_quotes = q.stop - q.start
    model_iv = torch.sqrt(w[:n_quotes] / points.tau[q])
    rmse, mape = targets.quote_terms(model_iv)
    return rmse + mape + config.lambda_atm * losses.atm_penalty(w_nn[n_quotes:]), model_iv


def warm_up(model: SurfaceModel, points: Collocation, targets: QuoteTargets, config: SmoothingConfig,
            optimiser: torch.optim.Optimizer, started: float, bar: FitProgress | None = None) -> WarmUp:
    """Train on the quote terms (RMSE + MAPE, and the ATM term) for ``config.quote_warmup`` of the time limit.

    The warm-up runs until ``started + config.quote_warmup * config.time_limit`` (nothing when
    either is unset) for at most ``config.max_epochs`` epochs, and stops early once the loss's
    quotes meet ``config.target_inside`` and ``config.target_expiry_inside`` (measured every
    ``config.check_every`` epochs): from there the full objective only has to keep them inside
    while it removes arbitrage.

    Parameters
    ----------
    model : SurfaceModel
        The model being trained, in the training dtype.
    points : Collocation
        The training batch (its quote and ATM rows are used).
    targets : QuoteTargets
        Targets of the batch's quotes.
    config : SmoothingConfig
        Loss settings, ``lambda_atm``, the inside targets and ``check_every``.
    optimiser : torch.optim.Optimizer
        Stepped once per epoch; the caller starts a fresh one for the full objective.
    started : float
        ``time.perf_counter()`` value at which the fit began (the time limit counts from there).
    bar : FitProgress, optional
        Shows the warm-up's epochs and inside share every ``config.check_every`` epochs.

    Returns
    -------
    WarmUp
    """
    begun = time.perf_counter()
    epochs, inside = 0, (float("nan"), float("nan"))
    deadline = started + config.quote_warmup * (config.time_limit or 0.0)
    target = config.target_inside
    params: list[torch.Tensor] = [p for p in model.parameters() if p.requires_grad]
    start = [p.detach().clone() for p in params]
    while time.perf_counter() < deadline and epochs < config.max_epochs:
        optimiser.zero_grad(set_to_none=True)
        loss, model_iv = _quote_loss(model, points, targets, config)
        if not torch.isfinite(loss):  # a diverged warm-up is undone: the full objective starts afresh
            with torch.no_grad():
                torch._foreach_copy_(params, start)
            return WarmUp(0, time.perf_counter() - begun, float("nan"), float("nan"))
        loss.backward()
        optimiser.step()
        epochs += 1
        if epochs % config.check_every == 0:
            inside = targets.inside(model_iv.detach())
            if bar is not None:  # time progress only: a warm-up state is no candidate for the stop
                bar.update(0, float("inf"), float("nan"), {"warm-up": f"{epochs} epochs on the quotes",
                                                            "inside": f"{100 * inside[0]:.1f}%"})
            if target is not None and inside[0] >= target and inside[1] >= config.target_expiry_inside:
                break
    return WarmUp(epochs, time.perf_counter() - begun, *inside)
