"""Static-arbitrage checks: find, locate and size arbitrage in quotes and in fitted surfaces.

* :func:`check_surface` - any total-variance surface w(k, tau) (``ivfast.protocols``): calendar,
  Gatheral-Jacquier butterfly, density normalisation, Lee wings, w > 0 and w(k, 0) = 0.
* :func:`check_prices`, :func:`check_vols` - model-free checks of call quotes on a maturity x
  strike grid (price bounds, call spreads, butterflies, calendar spreads; Carr-Madan 2005,
  Cohen-Reisinger-Wang 2020). :func:`check_quotes` takes a long-format table.
* :func:`consistent_quotes`, :func:`attainable_inside` - the most quotes of an expiry that any
  arbitrage-free smile fits inside bid-ask (an exact mixed-integer programme): what a fit's
  inside share can reach, and which quotes no arbitrage-free surface can fit.

All return an :class:`ArbitrageReport`. :func:`butterfly_g` is the Gatheral-Jacquier density
factor that the checks, the SVI fits and the deep-smoothing penalties share.
"""

from __future__ import annotations

from .attainable import QuoteConsistency, attainable_inside, consistent_quotes
from .density import butterfly_g
from .continuous import DEFAULT_K, DEFAULT_TAU, check_surface
from .discrete import check_prices, check_vols
from .quotes import QUOTE_COLUMNS, check_quotes
from .report import KINDS, ArbitrageReport

__all__ = [
    "ArbitrageReport",
    "KINDS",
    "QuoteConsistency",
    "QUOTE_COLUMNS",
    "DEFAULT_K",
    "DEFAULT_TAU",
    "attainable_inside",
    "check_prices",
    "check_quotes",
    "check_surface",
    "check_vols",
    "consistent_quotes",
    "butterfly_g",
]
