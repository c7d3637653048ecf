"""The chain-to-surface workflow behind ``ivfast fit``.

:func:`fit_chain` reads and cleans a chain, fits a deep-smoothing surface, certifies it and
writes the surface, its export, figures and a JSON summary (:data:`FILES`). Modules:
``run`` (the steps), ``config`` (defaults), ``result`` (the result type and fit-quality
measures), ``summary`` (JSON and terminal text), ``plots`` (figures).
"""

from __future__ import annotations

from .config import COMPLETION, FILES, default_fit_config
from .result import FitChainResult, check_grid, inside_bid_ask
from .run import fit_chain
from .summary import format_summary

__all__ = ["COMPLETION", "FILES", "FitChainResult", "check_grid", "default_fit_config", "fit_chain", "format_summary",
           "inside_bid_ask"]
