"""The dense (k, tau) grid that checks a surface fitted to quotes, over the quoted domain."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["quote_grid"]

K_PAD = 0.1
"""The grid extends the quoted k range by this fraction of its width on each side."""


def quote_grid(k: ArrayLike, tau: ArrayLike, n_k: int = 201, n_tau: int = 100
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Build the dense (k, tau) grid of the arbitrage check of a surface fitted to quotes.

    The quoted k range widened by 10 % of its width (at least 0.01) on each side, times
    log-spaced maturities from the first to the last expiry plus every quoted maturity, where
    the fit is anchored.

    Parameters
    ----------
    k, tau : array_like
        The quotes' log-moneyness ``ln(K/F)`` and years to expiry (> 0).
    n_k : int
        Points along k.
    n_tau : int
        Log-spaced maturities (before the quoted ones are added).

    Returns
    -------
    tuple of 2 ndarray
        The k axis (``n_k`` points, increasing) and the tau axis in years (sorted, distinct).

    Raises
    ------
    ValueError
        ``k`` empty, not finite, or of another size than ``tau``; ``tau`` not finite and > 0.
    """
    k, tau = np.asarray(k, dtype=np.float64).ravel(), np.asarray(tau, dtype=np.float64).ravel()
    if k.size == 0 or k.size != tau.size or not np.isfinite(k).all():
        raise ValueError(f"k: expected finite values, one per tau (got {k.size} for {tau.size} maturities)")
    if not (np.isfinite(tau) & (tau > 0)).all():
        raise ValueError("tau: expected finite years to expiry > 0")
    pad = K_PAD * max(k.max() - k.min(), 0.1)
    k_grid = np.linspace(k.min() - pad, k.max() + pad, n_k)
    tau_grid = np.unique(np.r_[np.geomspace(tau.min(), tau.max(), n_tau), tau])
    return k_grid, tau_grid
