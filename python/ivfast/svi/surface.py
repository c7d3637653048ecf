"""A volatility surface made of raw SVI slices, interpolated in tau along constant-k lines."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .._arrays import as_float_array, quote_vector, quote_weights
from .fit import fit_slice
from .slices import RawSVI, VolFromTotalVariance

__all__ = ["SviSurface"]


class SviSurface(VolFromTotalVariance):
    """Raw SVI slices at expiries tau_1 < ... < tau_N joined into a surface.

    Between expiries, total variance is interpolated linearly in tau along constant-k lines
    (GJ section 5 interpolates along the same lines, on call prices); below tau_1 it goes
    linearly to w = 0 at tau = 0 and beyond tau_N the implied vol stays that of the last slice
    (w grows like tau). Linear interpolation keeps w(k, .) monotone, so the surface is free of
    calendar arbitrage at every k where the slices are ordered, w_i(k) <= w_{i+1}(k) (see
    :meth:`calendar_arbitrage_free`). A convex combination of butterfly-free slices in w need
    not be butterfly-free: check intermediate expiries with ``ivfast.arbitrage.check_surface``.
    Implements :class:`ivfast.protocols.DifferentiableSurface`; k = ln(K/F), tau in years.

    Parameters
    ----------
    taus : array_like, shape (n,)
        Expiries of the slices in years: positive, finite, strictly increasing.
    slices : sequence of RawSVI
        One slice per expiry, in the order of ``taus``.

    Raises
    ------
    ValueError
        If ``taus`` is not positive and strictly increasing, or ``slices`` is not one
        :class:`RawSVI` per expiry.
    """

    def __init__(self, taus: ArrayLike, slices: Sequence[RawSVI]) -> None:
        taus = quote_vector(taus, "taus", positive=True)
        if not (np.diff(taus) > 0.0).all():
            raise ValueError("taus: expected strictly increasing year fractions")
        if len(slices) != taus.size or not all(isinstance(s, RawSVI) for s in slices):
            raise ValueError(f"slices: expected {taus.size} RawSVI objects, one per tau")
        self.taus = taus
        self.slices = tuple(slices)

    @classmethod
    def fit(
        cls,
        k: ArrayLike,
        tau: ArrayLike,
        w: ArrayLike,
        *,
        weights: ArrayLike | None = None,
        no_butterfly: bool = False,
    ) -> SviSurface:
        """Fit one raw SVI slice per distinct ``tau`` with :func:`ivfast.svi.fit_slice`.

        Parameters
        ----------
        k : array_like, shape (n,)
            Log-moneyness ln(K/F) of each quote.
        tau : array_like, shape (n,)
            Year fraction (> 0) of each quote; quotes sharing a tau form one slice.
        w : array_like, shape (n,)
            Total implied variance sigma_BS^2 tau (> 0) of each quote.
        weights : array_like, shape (n,), optional
            Non-negative weights of the squared total-variance residuals (default 1).
        no_butterfly : bool, default False
            Constrain every slice to be free of butterfly arbitrage (see :func:`fit_slice`).

        Returns
        -------
        SviSurface
            The fitted slices at the distinct maturities. Calendar arbitrage between them is not
            constrained: check it with :meth:`calendar_arbitrage_free`.

        Raises
        ------
        ValueError
            For invalid quotes, or a maturity with too few quotes for :func:`fit_slice`.
        """
        k = quote_vector(k, "k")
        tau = quote_vector(tau, "tau", size=k.size, positive=True)
        w = quote_vector(w, "w", size=k.size, positive=True)
        wt = quote_weights(weights, k.size)
        taus = np.unique(tau)
        slices = []
        for t in taus:
            at = tau == t
            slices.append(fit_slice(k[at], w[at], weights=wt[at], no_butterfly=no_butterfly))
        return cls(taus, slices)

    def calendar_arbitrage_free(self, k: ArrayLike) -> bool:
        """Check whether consecutive slices are ordered, w_i(k) <= w_{i+1}(k), at every given k.

        Parameters
        ----------
        k : array_like
            Log-moneyness values ln(K/F) to check.

        Returns
        -------
        bool
            True when no total variance decreases from one expiry to the next (to a relative
            round-off of 1e-14), i.e. no calendar arbitrage at these k.
        """
        w = np.stack([s.total_variance(as_float_array(k, "k")) for s in self.slices])
        return bool((np.diff(w, axis=0) >= -1e-14 * np.abs(w[1:])).all())

    def total_variance_derivatives(
        self, k: ArrayLike, tau: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Total variance and its derivatives in k and tau.

        Parameters
        ----------
        k, tau : as in :meth:`SviSurface.total_variance`

        Returns
        -------
        w, dw_dk, d2w_dk2, dw_dtau : ndarray
            Broadcast shape of ``k`` and ``tau``; NaN where tau < 0. ``dw_dtau`` is the slope of
            the segment holding tau (the right derivative at an expiry).
        """
        k, tau = np.broadcast_arrays(as_float_array(k, "k"), as_float_array(tau, "tau"))
        per_slice = np.stack([np.stack(s.derivatives(k)) for s in self.slices], axis=1)  # (3, N, ...)
        nodes = np.r_[0.0, self.taus]
        zero = np.zeros((3, 1) + k.shape)
        values = np.concatenate([zero, per_slice], axis=1)  # (3, N + 1, ...)
        n = self.taus.size
        i = np.clip(np.searchsorted(nodes, tau, side="right") - 1, 0, n - 1)
        t0, t1 = nodes[i], nodes[i + 1]
        v0 = np.take_along_axis(values, i[None, None], axis=1)[:, 0]
        v1 = np.take_along_axis(values, (i + 1)[None, None], axis=1)[:, 0]
        beyond = tau > nodes[-1]
        alpha = np.where(beyond, 1.0, (tau - t0) / (t1 - t0))
        scale = np.where(beyond, tau / nodes[-1], 1.0)
        w, dw, d2w = ((1.0 - alpha) * v0 + alpha * v1) * scale
        dw_dtau = np.where(beyond, v1[0] / nodes[-1], (v1[0] - v0[0]) / (t1 - t0))
        bad = ~(tau >= 0.0)
        return tuple(np.where(bad, np.nan, x) for x in (w, dw, d2w, dw_dtau))  # type: ignore[return-value]

    def total_variance(self, k: ArrayLike, tau: ArrayLike) -> np.ndarray:
        """Total implied variance w(k, tau).

        Parameters
        ----------
        k : array_like
            Log-moneyness ln(K/F).
        tau : array_like
            Year fractions, broadcastable with ``k``.

        Returns
        -------
        ndarray
            ``w = sigma_BS^2 tau``; 0 at tau = 0, NaN where tau < 0.
        """
        return self.total_variance_derivatives(k, tau)[0]

