"""Argument checking and broadcasting shared by the array-valued public functions.

Also the validation of the quote vectors that the SVI, SSVI and deep-smoothing calibrators
consume. Every check raises ``ValueError`` naming the offending argument.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["as_float_array", "as_bool_array", "broadcast_flat", "resolve_threads", "quote_vector", "quote_weights"]


def as_float_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert ``value`` to a float64 array or raise ``ValueError`` naming ``name``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a real number or an array of real numbers ({exc})") from None
    return arr


def as_bool_array(value: ArrayLike, name: str) -> NDArray[np.bool_]:
    """Convert ``value`` (bools, or 'c'/'call'/'p'/'put' strings) to a bool array."""
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind in "iu":
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name}: expected booleans (True for calls), got integers other than 0/1")
        return arr.astype(bool)
    if arr.dtype.kind in "UO":
        lowered = np.char.lower(arr.astype(str))
        calls = np.isin(lowered, ("c", "call"))
        puts = np.isin(lowered, ("p", "put"))
        if not (calls | puts).all():
            raise ValueError(f"{name}: expected True/False or 'call'/'put'/'c'/'p'")
        return calls
    raise ValueError(f"{name}: expected booleans (True for calls), got dtype {arr.dtype}")


def broadcast_flat(arrays: Mapping[str, np.ndarray]) -> tuple[tuple[int, ...], dict[str, np.ndarray]]:
    """Broadcast named arrays together; return the common shape and flat contiguous views.

    Size-1 arrays stay size 1 (the kernels broadcast them with stride 0 at no copy cost).
    """
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k}{a.shape}" for k, a in arrays.items())
        raise ValueError(f"shapes do not broadcast: {shapes}") from None
    flat = {}
    for name, a in arrays.items():
        if a.size == 1:
            flat[name] = np.ascontiguousarray(a.reshape(1))
        else:
            flat[name] = np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)
    return shape, flat


def resolve_threads(threads: int | None) -> int:
    """Validate ``threads``: None -> 0 (OpenMP default: OMP_NUM_THREADS or all cores)."""
    if threads is None:
        return 0
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads: expected a positive integer or None, got {threads!r}")
    return int(threads)


def quote_vector(
    value: ArrayLike, name: str, *, size: int | None = None, positive: bool = False
) -> NDArray[np.float64]:
    """Return a finite 1-D float64 vector (of length ``size`` when given), else raise ``ValueError``."""
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


def quote_weights(weights: ArrayLike | None, size: int) -> NDArray[np.float64]:
    """Non-negative weights of the squared residuals (ones when ``None``), not all zero."""
    if weights is None:
        return np.ones(size)
    arr = quote_vector(weights, "weights", size=size)
    if (arr < 0.0).any() or not (arr > 0.0).any():
        raise ValueError("weights: expected values >= 0 with at least one > 0")
    return arr
