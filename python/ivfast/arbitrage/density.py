"""The Gatheral-Jacquier density factor g(k) of a total-variance slice.

Reference: J. Gatheral and A. Jacquier (2014), "Arbitrage-free SVI volatility surfaces",
Quantitative Finance 14(1), Lemma 2.2 ("GJ"). The NumPy checks, the SVI fits and the torch
trainer's butterfly penalty all call :func:`butterfly_g`, so there is one formula.
"""

from __future__ import annotations

import numpy as np

from .. import _xp
from .._xp import Array

__all__ = ["butterfly_g"]


def butterfly_g(w: Array, dw: Array, d2w: Array, k: Array) -> Array:
    """Gatheral-Jacquier density factor g(k) from total variance w and its k-derivatives.

    ``g(k) = (1 - k w'/(2w))^2 - (w')^2/4 (1/w + 1/4) + w''/2``; a slice is free of butterfly
    arbitrage iff g >= 0 (with d_+ -> -inf), and the risk-neutral density is
    ``g / sqrt(2 pi w) exp(-d_-^2/2)``. The square on w' is part of the condition: a penalty
    with w' in place of (w')^2 is not the GJ condition and penalises the wrong quantity.

    Parameters
    ----------
    w, dw, d2w : array_like or torch.Tensor
        Total implied variance ``w = sigma^2 tau`` (dimensionless) and its first and second
        derivatives in log-moneyness, broadcastable together.
    k : array_like or torch.Tensor
        Log-moneyness ``ln(K/F)``.

    Returns
    -------
    ndarray or torch.Tensor
        g with the broadcast shape. NumPy inputs give float64 with NaN where ``w <= 0``; tensors
        give a tensor of the same expression with no masking (autograd passes through).
    """
    if _xp.is_tensor(w):
        return _g(w, dw, d2w, k)
    w, dw, d2w, k = _xp.as_arrays(w, dw, d2w, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = _g(w, dw, d2w, k)
    return np.where(w > 0.0, g, np.nan)


def _g(w: Array, dw: Array, d2w: Array, k: Array) -> Array:
    return (1.0 - k * dw / (2.0 * w)) ** 2 - 0.25 * dw**2 * (1.0 / w + 0.25) + 0.5 * d2w
