"""Principal components of implied-vol grids: the output basis of the residual surrogate (NumPy only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["GridPCA", "fit_pca", "MIN_VARIANCE"]

MIN_VARIANCE = 0.999
"""Smallest share of the grids' variance a PCA head may keep. The default of :func:`fit_pca` keeps
far more: the discarded variance is a reconstruction error that no training removes, and at 99.9 %
it is much larger than the relative vol accuracy a surrogate pricer aims for."""


@dataclass(frozen=True)
class GridPCA:
    """Mean, leading components and score scales of flattened grids.

    ``scores = (y - mean) @ components.T / scales`` are standardised (unit variance on the fit
    data); ``y = mean + (scores * scales) @ components``.

    Attributes
    ----------
    mean : ndarray, shape (m,)
        Mean of the fit grids.
    components : ndarray, shape (k, m)
        Orthonormal rows.
    scales : ndarray, shape (k,)
        Standard deviation of each component's scores on the fit data.
    explained : ndarray, shape (k,)
        Share of the total variance of each kept component.
    """

    mean: np.ndarray
    components: np.ndarray
    scales: np.ndarray
    explained: np.ndarray

    @property
    def n_components(self) -> int:
        """Number k of kept components."""
        return int(self.components.shape[0])

    @property
    def explained_total(self) -> float:
        """Share of the fit grids' variance that the kept components explain."""
        return float(self.explained.sum())

    def transform(self, y: ArrayLike) -> np.ndarray:
        """Project grids onto the components.

        Parameters
        ----------
        y : array_like, shape (n, m)
            Flattened grids.

        Returns
        -------
        ndarray, shape (n, k)
            Standardised scores.
        """
        return (np.asarray(y, dtype=np.float64) - self.mean) @ self.components.T / self.scales

    def inverse(self, scores: ArrayLike) -> np.ndarray:
        """Rebuild grids from standardised scores.

        Parameters
        ----------
        scores : array_like, shape (n, k)
            Standardised scores (:meth:`transform`).

        Returns
        -------
        ndarray, shape (n, m)
            Flattened grids.
        """
        return self.mean + (np.asarray(scores, dtype=np.float64) * self.scales) @ self.components


def fit_pca(y: ArrayLike, variance: float = 1.0 - 1e-7, max_components: int | None = None) -> GridPCA:
    """Fit the fewest principal components whose cumulative explained variance reaches ``variance``.

    Parameters
    ----------
    y : array_like, shape (n, m)
        Flattened grids, n > 1, all finite.
    variance : float, default 1 - 1e-7
        Target share of variance in [MIN_VARIANCE, 1].
    max_components : int, optional
        Cap on the number of components.

    Returns
    -------
    GridPCA
        Mean, components, score scales and explained shares.

    Raises
    ------
    ValueError
        For a ``y`` that is not a finite 2-D array with at least 2 rows, a ``variance`` outside
        [MIN_VARIANCE, 1], or a ``max_components`` that keeps less than MIN_VARIANCE.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] < 2 or not np.isfinite(y).all():
        raise ValueError(f"y: expected a finite 2-D array with at least 2 rows, got shape {y.shape}")
    if not (MIN_VARIANCE <= variance <= 1.0):
        raise ValueError(f"variance: expected a share in [{MIN_VARIANCE}, 1], got {variance!r}")
    mean = y.mean(axis=0)
    _, s, vt = np.linalg.svd(y - mean, full_matrices=False)
    var = s**2
    share = var / var.sum()
    k = int(np.searchsorted(np.cumsum(share), variance - 1e-15) + 1)
    k = min(k, s.size)
    if max_components is not None:
        k = min(k, int(max_components))
        if np.cumsum(share)[k - 1] < MIN_VARIANCE:
            raise ValueError(f"max_components: {max_components} components keep less than {MIN_VARIANCE} "
                             "of the variance")
    # Components with (numerically) zero variance cannot be standardised: keep the scale at 1 there.
    scales = s[:k] / np.sqrt(y.shape[0] - 1)
    scales = np.where(scales > 1e-12 * max(scales[0], 1e-300), scales, 1.0)
    return GridPCA(mean=mean, components=vt[:k].copy(), scales=scales, explained=share[:k])
