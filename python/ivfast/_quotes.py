"""Validation of the quote arrays that the SVI and SSVI calibrators consume."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._arrays import as_float_array

__all__ = ["quote_vector", "quote_weights"]


def quote_vector(value: Any, name: str, *, size: int | None = None, positive: bool = False) -> np.ndarray:
    """A finite 1-D float64 vector (of length ``size`` when given), else ``ValueError`` naming it."""
    arr = as_float_array(value, name)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if size is not None and arr.size != size:
        raise ValueError(f"{name}: expected {size} values (one per quote), got {arr.size}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values; drop those quotes first")
    if positive and not (arr > 0.0).all():
        raise ValueError(f"{name}: expected values > 0")
    return arr


def quote_weights(weights: Any, size: int) -> np.ndarray:
    """Non-negative weights of the squared residuals (ones when ``None``), not all zero."""
    if weights is None:
        return np.ones(size)
    arr = quote_vector(weights, "weights", size=size)
    if (arr < 0.0).any() or not (arr > 0.0).any():
        raise ValueError("weights: expected values >= 0 with at least one > 0")
    return arr
