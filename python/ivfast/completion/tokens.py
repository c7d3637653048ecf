"""Padding surfaces of different sizes into one batch of tokens."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from .model import Tokens

__all__ = ["spread_subset", "pad_tokens"]


def spread_subset(k: NDArray[np.float64], tau: NDArray[np.float64], limit: int) -> NDArray[np.intp]:
    """Indices of at most ``limit`` quotes spread evenly over the surface (deterministic).

    Parameters
    ----------
    k, tau : ndarray, shape (n,)
        The quotes.
    limit : int
        Largest number of indices.

    Returns
    -------
    ndarray of int
        All indices when ``n <= limit``, else every (n/limit)-th quote in (tau, k) order.
    """
    order = np.lexsort((k, tau))
    if order.size <= limit:
        return order
    return order[np.unique(np.linspace(0, order.size - 1, limit).round().astype(np.intp))]


def pad_tokens(k: Sequence[NDArray[np.float64]], tau: Sequence[NDArray[np.float64]],
               iv: Sequence[NDArray[np.float64]], n_observed: Sequence[int],
               features: NDArray[np.float64]) -> Tokens:
    """Pad surfaces into a batch; the first ``n_observed[b]`` points of surface b are observed, the rest queries.

    Parameters
    ----------
    k, tau, iv : sequence of ndarray
        Per surface: its points (observed first); ``iv`` of the queries is ignored.
    n_observed : sequence of int
        Observed points per surface.
    features : ndarray, shape (B, F)
        Market features per surface.

    Returns
    -------
    Tokens
        float32 tensors (the networks' precision), padded with zeros.
    """
    size = max(a.size for a in k)
    batch = len(k)
    arrays = {name: np.zeros((batch, size)) for name in ("k", "tau", "iv")}
    observed = np.zeros((batch, size), dtype=bool)
    query = np.zeros((batch, size), dtype=bool)
    for b in range(batch):
        n = k[b].size
        arrays["k"][b, :n], arrays["tau"][b, :n], arrays["iv"][b, :n] = k[b], tau[b], iv[b]
        observed[b, : n_observed[b]] = True
        query[b, n_observed[b]: n] = True
    arrays["tau"][arrays["tau"] == 0.0] = 1.0  # padding: any finite position
    f32 = {name: torch.tensor(a, dtype=torch.float32) for name, a in arrays.items()}
    return Tokens(f32["k"], f32["tau"], f32["iv"], torch.tensor(observed), torch.tensor(query),
                  torch.tensor(features, dtype=torch.float32))
