"""A warm start that is a result already: a certified surface without a network.

``fit_surface(init=complete_surface(..., correct=True))`` trains the network on top of the
completion's fixed spline factor. The completion is certified on its own; when it already meets
the fit's inside-bid-ask targets and passes the fit's certificate, no training can do better by
the fit's own stopping rule, so it is returned as it is (stop reason ``'start'``: 0 epochs). When
training ends with a certificate that fails, or with fewer quotes inside bid-ask than the start,
the start is returned instead, so a fit is never worse than its certified start. On the real
chains the corrected completion meets the targets alone (bench/README.md, "ivfast fit on real
chains"), where the network trained on top of it had left SPY 2025-09-25 with violations.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..arbitrage import ArbitrageReport
from .config import SmoothingConfig
from .fitted import FittedSurface
from .inputs import Quotes
from .model import SurfaceModel
from .objective import EveryQuote
from .start import same_quotes

__all__ = ["CertifiedStart", "certified_start"]


@dataclass
class CertifiedStart:
    """The start's model (float64, no network), its certificate and its inside-bid-ask shares.

    Attributes
    ----------
    model : SurfaceModel
        A copy of the warm start's model.
    certificate : ArbitrageReport
        Its check on the fit's certificate grid (clean).
    inside : tuple of 2 float
        Share of every quote's vol inside bid-ask, and at the worst maturity (NaN without bid-ask).
    """

    model: SurfaceModel
    certificate: ArbitrageReport
    inside: tuple[float, float]

    def meets(self, config: SmoothingConfig) -> bool:
        """Whether the start already meets ``config``'s inside-bid-ask targets."""
        return (config.target_inside is not None and self.inside[0] >= config.target_inside
                and self.inside[1] >= config.target_expiry_inside)

    def beats(self, certificate: ArbitrageReport, inside: tuple[float, float]) -> bool:
        """Whether the start is a better result than a trained state with this certificate and shares.

        Without bid-ask vols (NaN shares) only a failed certificate makes it so.
        """
        return not certificate.ok() or inside[0] < self.inside[0]


def certified_start(init: FittedSurface | None, quotes: Quotes, certify: Callable[[SurfaceModel], ArbitrageReport],
                    every_quote: EveryQuote) -> CertifiedStart | None:
    """The warm start as a candidate result, or None.

    Parameters
    ----------
    init : FittedSurface, optional
        The warm start; only a surface without a network (a completion) made from ``quotes`` is
        a candidate: a previous fit's network shape and ATM curve are replaced by the fit's own,
        and a surface of other quotes is no result for these.
    quotes : Quotes
        The fit's quotes.
    certify : callable
        The fit's certificate of a model (:meth:`ivfast.surface.trainer._Trainer.certify`).
    every_quote : EveryQuote
        Every quote of the fit with its bid-ask targets.

    Returns
    -------
    CertifiedStart or None
        None when there is no such start or its certificate fails.
    """
    if init is None or init.model.network is not None or not same_quotes(init.quotes, quotes):
        return None
    model = copy.deepcopy(init.model).to(every_quote.k.device, torch.float64)
    certificate = certify(model)
    if not certificate.ok():
        return None
    return CertifiedStart(model, certificate, every_quote.inside(model))
