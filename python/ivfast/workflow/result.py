"""The result of :func:`~ivfast.workflow.fit_chain` and the fit-quality measures it reports."""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..arbitrage.grids import quote_grid
from ..chain import SurfaceQuotes
from .summary import format_summary

if TYPE_CHECKING:
    from ..arbitrage import ArbitrageReport
    from ..surface import FittedSurface

__all__ = ["FitChainResult", "inside_bid_ask", "check_grid"]

@dataclass(frozen=True)
class FitChainResult:
    """Everything :func:`fit_chain` produced.

    Attributes
    ----------
    quotes : SurfaceQuotes
        The cleaned quotes the surface was fitted to (and the dropped ones, with reasons).
    surface : FittedSurface
        The deep-smoothing fit (``k = ln(K/F)``, ``tau`` in years, ``w = sigma^2 tau``).
    report : ArbitrageReport
        Static-arbitrage check of the surface on :func:`check_grid`.
    fitted_iv : ndarray
        Fitted implied vol at each kept quote (same order as ``quotes.quotes``; 0.01 is one vol
        point).
    inside : ndarray of bool
        Whether ``fitted_iv`` lies in the quote's bid-ask implied-vol interval.
    summary : dict
        The JSON summary (counts, accuracy, arbitrage counts, timings, file names, notes).
    files : dict
        Path of each file written, keyed as :data:`~ivfast.workflow.FILES`.
    """

    quotes: SurfaceQuotes
    surface: FittedSurface
    report: ArbitrageReport
    fitted_iv: np.ndarray
    inside: np.ndarray
    summary: dict[str, Any]
    files: dict[str, pathlib.Path] = field(default_factory=dict)

    @property
    def inside_fraction(self) -> float:
        """Share of kept quotes whose fitted vol lies inside the bid-ask vol interval."""
        return float(self.inside.mean()) if self.inside.size else math.nan

    @property
    def rmse(self) -> float:
        """Root mean square of fitted minus mid implied vol (vol units, 0.01 = one vol point)."""
        return float(np.sqrt(np.mean((self.fitted_iv - self.quotes.iv) ** 2)))

    def summary_text(self) -> str:
        """Format the summary for the terminal (what ``ivfast fit`` prints).

        Returns
        -------
        str
            :func:`~ivfast.workflow.format_summary` of :attr:`summary`.
        """
        return format_summary(self.summary)


def inside_bid_ask(fitted_iv: ArrayLike, iv_bid: ArrayLike, iv_ask: ArrayLike) -> NDArray[np.bool_]:
    """Test ``iv_bid <= fitted_iv <= iv_ask`` elementwise.

    A NaN bid vol means the bid is below the discounted intrinsic value, so every vol prices at
    or above it (lower bound 0); a NaN ask vol means the ask is at or above the no-arbitrage
    upper bound (no upper bound).

    Parameters
    ----------
    fitted_iv : array_like
        Fitted implied vols (0.01 is one vol point).
    iv_bid, iv_ask : array_like
        Implied vols of the bid and ask prices, NaN where none exists; broadcast with
        ``fitted_iv``.

    Returns
    -------
    ndarray of bool
        True where the fitted vol lies in the bid-ask vol interval (False where it is NaN).
    """
    low = np.where(np.isnan(iv_bid), 0.0, iv_bid)
    high = np.where(np.isnan(iv_ask), np.inf, iv_ask)
    return (fitted_iv >= low) & (fitted_iv <= high)

def check_grid(quotes: SurfaceQuotes, n_k: int = 201, n_tau: int = 100) -> tuple[NDArray[np.float64],
                                                                                 NDArray[np.float64]]:
    """Build the dense (k, tau) grid of the arbitrage check (:func:`ivfast.arbitrage.grids.quote_grid`).

    Parameters
    ----------
    quotes : SurfaceQuotes
        The kept quotes (their ``k`` and ``tau``).
    n_k : int
        Points along k = ln(K/F).
    n_tau : int
        Log-spaced maturities (before the quoted ones are added).

    Returns
    -------
    tuple of 2 ndarray
        The k axis and the tau axis in years.
    """
    return quote_grid(quotes.k, quotes.tau, n_k, n_tau)

