"""The training objective on one batch of quotes and collocation points.

The loss is that of Ackerer, Tagasovska & Vatter (2020) as the reference deep-smoothing script
weights it (docs/references.md), plus Lee's wing bound and small margins on the calendar and
butterfly penalties (:class:`~ivfast.surface.SmoothingConfig`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..arbitrage.density import butterfly_g
from . import losses
from .collocation import Collocation
from .config import SmoothingConfig
from .inputs import Quotes, loss_quotes
from .model import SurfaceModel

__all__ = ["EveryQuote", "LossTerms", "QuoteTargets", "build_batch", "evaluate_loss", "LOSS_COLUMNS"]

LOSS_COLUMNS = ("loss", "rmse", "mape", "calendar", "butterfly", "asym", "atm", "lee", "inside", "worst_inside")
"""Loss terms, then the share of quotes inside bid-ask and its lowest value over maturities (NaN
without bid-ask vols)."""


@dataclass
class QuoteTargets:
    """What the quote terms compare the model with, in the order of the batch's quotes.

    ``iv`` (mids) and ``weights`` always; ``low``/``high`` the zero-loss interval of the
    'bid_ask' loss (None for 'mid'); ``bid``/``ask`` the full bid-ask vol interval (NaN bid -> 0,
    NaN ask -> inf) and ``maturity`` each quote's maturity index (0..n_maturities-1), which give
    the share of fitted vols inside the quotes (None without bid-ask vols).
    """

    iv: torch.Tensor
    weights: torch.Tensor | None = None
    low: torch.Tensor | None = None
    high: torch.Tensor | None = None
    bid: torch.Tensor | None = None
    ask: torch.Tensor | None = None
    maturity: torch.Tensor | None = None

    @classmethod
    def build(cls, iv: torch.Tensor, weights: torch.Tensor | None, tau: torch.Tensor, iv_bid: torch.Tensor | None,
              iv_ask: torch.Tensor | None, config: SmoothingConfig) -> QuoteTargets:
        """Targets of a fit from the quotes' mid, bid and ask vols.

        Parameters
        ----------
        iv, tau : torch.Tensor
            Mid vols and maturities of the quotes.
        weights : torch.Tensor, optional
            Quote weights (None: equal).
        iv_bid, iv_ask : torch.Tensor, optional
            Bid and ask vols (NaN where none exists), both or neither.
        config : SmoothingConfig
            ``quote_loss`` and ``bid_ask_margin``.

        Returns
        -------
        QuoteTargets
        """
        if iv_bid is None or iv_ask is None:
            return cls(iv, weights)
        bid, ask = losses.bid_ask_bounds(iv, iv_bid, iv_ask, 0.0)
        maturity = torch.unique(tau, return_inverse=True)[1]
        if config.quote_loss == "mid":
            return cls(iv, weights, None, None, bid, ask, maturity)
        low, high = losses.bid_ask_bounds(iv, iv_bid, iv_ask, config.bid_ask_margin)
        return cls(iv, weights, low, high, bid, ask, maturity)

    def quote_terms(self, model_iv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RMSE and MAPE of ``model_iv``: of the distance to the zero-loss interval, or of fit minus mid.

        Parameters
        ----------
        model_iv : torch.Tensor
            Model vols at the quotes.

        Returns
        -------
        tuple of 2 torch.Tensor
            ``(rmse, mape)`` as differentiable scalars.
        """
        if self.low is not None and self.high is not None:
            return (losses.bid_ask_rmse(model_iv, self.low, self.high, self.weights),
                    losses.bid_ask_mape(model_iv, self.iv, self.low, self.high, self.weights))
        return losses.rmse(model_iv, self.iv, self.weights), losses.mape(model_iv, self.iv, self.weights)

    def inside(self, model_iv: torch.Tensor) -> tuple[float, float]:
        """Share of ``model_iv`` inside the bid-ask intervals, overall and at the worst maturity.

        Parameters
        ----------
        model_iv : torch.Tensor
            Model vols at the quotes.

        Returns
        -------
        tuple of 2 float
            NaN, NaN without bid-ask vols.
        """
        if self.bid is None or self.ask is None or self.maturity is None:
            return math.nan, math.nan
        hit = ((model_iv >= self.bid) & (model_iv <= self.ask)).to(model_iv.dtype)
        per_maturity = torch.bincount(self.maturity, hit) / torch.bincount(self.maturity).to(hit.dtype)
        return float(hit.mean()), float(per_maturity.min())


@dataclass
class EveryQuote:
    """All quotes of a fit whose loss sees a thinned subset (``max_quotes_per_maturity``).

    A stop at "95 % of the quotes inside bid-ask" must hold for every quote, not only for the
    ones in the loss, so the trainer measures a state that meets it on the subset again here.
    """

    k: torch.Tensor
    tau: torch.Tensor
    targets: QuoteTargets

    def inside(self, model: SurfaceModel) -> tuple[float, float]:
        """Share of the model's vols inside bid-ask over every quote, and at the worst maturity.

        Parameters
        ----------
        model : SurfaceModel
            The model being trained (one forward pass, no derivatives, no graph).

        Returns
        -------
        tuple of 2 float
        """
        dtype = next(model.parameters()).dtype  # the training dtype, or float64 once training is over
        k, tau = self.k.to(dtype), self.tau.to(dtype)
        with torch.no_grad():
            return self.targets.inside(torch.sqrt(model(k, tau, 0)[0] / tau))


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
    inside: float = math.nan
    worst_inside: float = math.nan

    def values(self) -> dict[str, float]:
        """Return the terms as Python floats.

        Returns
        -------
        dict of str to float
            Keyed by :data:`LOSS_COLUMNS` (``'loss'`` is the total).
        """
        terms = (self.total, self.rmse, self.mape, self.calendar, self.butterfly, self.asym, self.atm, self.lee)
        values = dict(zip(LOSS_COLUMNS, torch.stack([t.detach() for t in terms]).tolist()))
        return values | {"inside": self.inside, "worst_inside": self.worst_inside}


def evaluate_loss(model: SurfaceModel, points: Collocation, targets: QuoteTargets,
                  config: SmoothingConfig) -> LossTerms:
    """Evaluate L = RMSE + MAPE + l_cal L_cal + l_but L_but + l_asym L_asym + l_atm L_atm + l_lee L_lee.

    One forward pass over the whole batch gives w and its k/tau derivatives everywhere. RMSE and
    MAPE are of fit minus mid, or of the distance to the bid-ask interval
    (``config.quote_loss``, :func:`~ivfast.surface.losses.bid_ask_rmse`).

    Parameters
    ----------
    model : SurfaceModel
        The model being trained.
    points : Collocation
        The batch: collocation points and quotes.
    targets : QuoteTargets
        Quoted vols (mid, bid-ask interval) and weights, in the order of the batch's quotes.
    config : SmoothingConfig
        Penalty weights ``lambda_*`` and margins.

    Returns
    -------
    LossTerms
        The total (with its graph), each term and the share of fitted vols inside bid-ask.
    """
    w, w_k, w_kk, w_t, w_nn = model(points.k, points.tau, points.n_jet)
    q, arb, wing = points.quotes, points.arbitrage, points.wings
    model_iv = torch.sqrt(w[q] / points.tau[q])
    rmse, mape = targets.quote_terms(model_iv)
    g = butterfly_g(w[arb], w_k[arb], w_kk[arb], points.k[arb])
    calendar = losses.calendar_penalty(w_t[arb], config.margin_calendar)
    butterfly = losses.butterfly_penalty(g, config.margin_butterfly)
    asym = losses.asym_penalty(w_kk[wing])
    atm = losses.atm_penalty(w_nn[points.atm])
    lee = losses.lee_penalty(points.k[wing], w[wing])
    total = (rmse + mape + config.lambda_calendar * calendar + config.lambda_butterfly * butterfly
             + config.lambda_asym * asym + config.lambda_atm * atm + config.lambda_lee * lee)
    with torch.no_grad():
        inside, worst = targets.inside(model_iv)
    return LossTerms(total, rmse, mape, calendar, butterfly, asym, atm, lee, inside, worst)


QuoteTensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor, "torch.Tensor | None", "torch.Tensor | None",
                     "torch.Tensor | None"]
"""``(k, tau, iv, weights, iv_bid, iv_ask)`` of every quote, in the training dtype."""


def build_batch(quotes: Quotes, tensors: QuoteTensors, config: SmoothingConfig, device: torch.device
                ) -> tuple[Collocation, QuoteTargets, EveryQuote | None]:
    """Lay out the training batch: the loss's quotes (``config.max_quotes_per_maturity``) and the collocation.

    Parameters
    ----------
    quotes : Quotes
        The validated quotes.
    tensors : QuoteTensors
        The same quotes as tensors on ``device``, in the training dtype.
    config : SmoothingConfig
        Collocation sizes, quote thinning and loss settings.
    device : torch.device
        Where training runs.

    Returns
    -------
    tuple
        ``(points, targets, every_quote)``: the batch, the targets of its quotes, and every quote
        for the inside-bid-ask measures (None when the loss sees them all).
    """
    k, tau, iv, weights, bid, ask = tensors
    used = loss_quotes(quotes.k, quotes.tau, config.max_quotes_per_maturity)
    points = Collocation.build(quotes.k[used], quotes.tau[used], config, device)
    points.k, points.tau = points.k.to(k.dtype), points.tau.to(k.dtype)
    idx = torch.as_tensor(used, device=device)
    pick = lambda x: None if x is None else x[idx]  # noqa: E731
    targets = QuoteTargets.build(iv[idx], pick(weights), tau[idx], pick(bid), pick(ask), config)
    every_quote = None if used.size == quotes.k.size else EveryQuote(
        k, tau, QuoteTargets.build(iv, weights, tau, bid, ask, config))
    return points, targets, every_quote
