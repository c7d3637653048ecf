"""Dynamic clustering and masking of a surface's quotes, drawn afresh every time a surface is used.

As in the published IvySPT: the quotes of a surface are clustered by KMeans (Lloyd's algorithm,
written here, on standardised (k / sqrt(tau), ln tau)) and a proportion drawn from
{0.1, 0.3, 0.5, 0.7} is hidden. Beyond the published scheme (a random share inside every
cluster), half of the draws hide whole clusters instead, so the network also learns to
extrapolate over structured gaps (a missing expiry range, a missing wing).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["MASK_PROPORTIONS", "kmeans_labels", "draw_mask"]

MASK_PROPORTIONS = (0.1, 0.3, 0.5, 0.7)
_LLOYD_ITERATIONS = 10


def kmeans_labels(points: NDArray[np.float64], n_clusters: int, rng: np.random.Generator) -> NDArray[np.intp]:
    """Cluster labels of points by Lloyd's algorithm from a random start.

    Parameters
    ----------
    points : ndarray, shape (n, d)
        The points.
    n_clusters : int
        Clusters (at most n).
    rng : numpy.random.Generator
        Random source of the initial centres.

    Returns
    -------
    ndarray of int, shape (n,)
    """
    n_clusters = min(n_clusters, points.shape[0])
    centres = points[rng.choice(points.shape[0], n_clusters, replace=False)]
    labels = np.zeros(points.shape[0], dtype=np.intp)
    for _ in range(_LLOYD_ITERATIONS):
        labels = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        for c in range(n_clusters):
            members = labels == c
            if members.any():
                centres[c] = points[members].mean(0)
    return labels


def draw_mask(k: NDArray[np.float64], tau: NDArray[np.float64], rng: np.random.Generator,
              min_visible: int = 3) -> NDArray[np.bool_]:
    """Draw which quotes to hide (module docstring).

    Parameters
    ----------
    k, tau : ndarray, shape (n,)
        The quotes.
    rng : numpy.random.Generator
        Random source.
    min_visible : int
        At least this many quotes stay visible.

    Returns
    -------
    ndarray of bool, shape (n,)
        True where hidden.
    """
    n = k.size
    z = np.column_stack([k / np.sqrt(tau), np.log(tau)])
    z = (z - z.mean(0)) / np.maximum(z.std(0), 1e-9)
    labels = kmeans_labels(z, int(rng.integers(4, 13)), rng)
    proportion = float(rng.choice(MASK_PROPORTIONS))
    hidden = np.zeros(n, dtype=bool)
    if rng.random() < 0.5:
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            hidden[rng.choice(members, int(round(proportion * members.size)), replace=False)] = True
    else:
        for c in rng.permutation(np.unique(labels)):
            if hidden.sum() >= proportion * n:
                break
            hidden[labels == c] = True
    if n - hidden.sum() < min_visible:
        hidden[rng.choice(np.flatnonzero(hidden), min_visible - (n - hidden.sum()), replace=False)] = False
    return hidden
