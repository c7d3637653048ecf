"""Elementwise maths that runs unchanged on NumPy arrays and on torch tensors.

The closed forms that both the NumPy surfaces and the torch trainer evaluate (SSVI and its
power-law curvature, the Gatheral-Jacquier density factor, the softplus ATM curve, the
network's input features) are written once against these few functions. Each one calls the
library's own routine for its argument, so a formula gives the same operations in the same order
in both libraries, and autograd sees ordinary tensor operations. torch is never imported here:
a tensor argument means it is already loaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Array", "is_tensor", "as_arrays", "sqrt", "log", "asinh", "minimum", "clamp_min", "softplus", "tanh",
           "sigmoid"]

Array = Any
"""A NumPy array (or NumPy scalar) or a torch tensor.

NumPy and torch share no static array type, so the array-agnostic formulas annotate their
arguments and results with this alias of ``Any``; the docstrings say which kinds they take.
"""


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (checked without importing torch)."""
    return type(x).__module__.partition(".")[0] == "torch"


def as_arrays(*xs: Any) -> tuple[Array, ...]:
    """Return the arguments unchanged when any is a tensor, else as float64 NumPy arrays."""
    if any(is_tensor(x) for x in xs):
        return xs
    return tuple(np.asarray(x, dtype=np.float64) for x in xs)


def sqrt(x: Array) -> Array:
    """Square root."""
    return x.sqrt() if is_tensor(x) else np.sqrt(x)


def log(x: Array) -> Array:
    """Natural logarithm."""
    return x.log() if is_tensor(x) else np.log(x)


def asinh(x: Array) -> Array:
    """Inverse hyperbolic sine."""
    return x.asinh() if is_tensor(x) else np.arcsinh(x)


def minimum(a: Array, b: Array) -> Array:
    """Elementwise minimum (both tensors, or both NumPy values)."""
    return a.minimum(b) if is_tensor(a) else np.minimum(a, b)


def clamp_min(x: Array, low: float) -> Array:
    """``max(x, low)`` elementwise."""
    return x.clamp_min(low) if is_tensor(x) else np.maximum(x, low)


def softplus(x: Array) -> Array:
    """``ln(1 + e^x)``; torch's version returns ``x`` itself above 20, where they agree to 2e-9."""
    if is_tensor(x):
        import torch.nn.functional as F

        return F.softplus(x)
    return np.logaddexp(0.0, x)


def tanh(x: Array) -> Array:
    """Hyperbolic tangent."""
    return x.tanh() if is_tensor(x) else np.tanh(x)


def sigmoid(x: Array) -> Array:
    """``1 / (1 + e^-x)``."""
    if is_tensor(x):
        return x.sigmoid()
    from scipy.special import expit

    return expit(x)
