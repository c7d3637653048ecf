"""The published IvySPT as a surface: vols at any points from observed quotes (not certified)."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from .._arrays import as_float_array, broadcast_flat
from .model import CompletionNet
from .quotes import atm_curve, chain_features, validate
from .tokens import pad_tokens, spread_subset

__all__ = ["IvySPTSurface"]

_CHUNK = 512
"""Query points per forward pass; queries attend to the observed tokens only, so chunks are exact."""


class IvySPTSurface:
    """Implied vols predicted by a published-head (``"iv"``) network from observed quotes.

    A :class:`ivfast.protocols.TotalVarianceSurface`; its derivatives (for the arbitrage checks)
    are finite differences, and nothing guarantees the absence of arbitrage: it is the published
    model, kept for comparison with :func:`ivfast.complete_surface`.

    Parameters
    ----------
    net : CompletionNet
        An ``"iv"``-head network (e.g. ``load_weights()[0]["ivyspt"]``).
    k, tau, iv : array_like, shape (n,)
        Observed quotes (log-moneyness, years, implied vols).
    max_tokens : int
        Observed quotes the network reads (thinned evenly beyond).
    """

    def __init__(self, net: CompletionNet, k: ArrayLike, tau: ArrayLike, iv: ArrayLike, max_tokens: int = 128) -> None:
        if net.config.head != "iv":
            raise ValueError("net: expected an 'iv'-head (published IvySPT) network")
        k, tau, iv, _ = validate(k, tau, iv, None)
        keep = spread_subset(k, tau, max_tokens)
        self.net, self.k, self.tau, self.iv = net, k[keep], tau[keep], iv[keep]
        self.features = chain_features(k, tau, iv, atm_curve(k, tau, iv))

    def _vols(self, kq: NDArray[np.float64], tq: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.empty(kq.size)
        n = self.k.size
        for start in range(0, kq.size, _CHUNK):
            stop = min(start + _CHUNK, kq.size)
            tokens = pad_tokens([np.r_[self.k, kq[start:stop]]], [np.r_[self.tau, tq[start:stop]]],
                                [np.r_[self.iv, np.zeros(stop - start)]], [n], self.features[None])
            with torch.no_grad():
                out[start:stop] = self.net(tokens)[0, n:].double().numpy()
        return out

    def implied_vol(self, k: ArrayLike, tau: ArrayLike) -> NDArray[np.float64]:
        """Predicted implied vols.

        Parameters
        ----------
        k, tau : array_like
            Log-moneyness and years (> 0), broadcast together.

        Returns
        -------
        ndarray
            Of the broadcast shape; NaN where ``tau <= 0`` or an input is not finite.
        """
        shape, flat = broadcast_flat({"k": as_float_array(k, "k"), "tau": as_float_array(tau, "tau")})
        n = max(flat["k"].size, flat["tau"].size)
        kq, tq = np.broadcast_to(flat["k"], (n,)), np.broadcast_to(flat["tau"], (n,))
        ok = np.isfinite(kq) & np.isfinite(tq) & (tq > 0)
        out = np.full(n, np.nan)
        if ok.any():
            out[ok] = self._vols(kq[ok], tq[ok])
        return out.reshape(shape)

    def total_variance(self, k: ArrayLike, tau: ArrayLike) -> NDArray[np.float64]:
        """Total variance ``iv^2 tau`` of the predicted vols.

        Parameters
        ----------
        k, tau : as in :meth:`IvySPTSurface.implied_vol`

        Returns
        -------
        ndarray
        """
        vol = self.implied_vol(k, tau)
        return vol**2 * np.broadcast_to(as_float_array(tau, "tau"), vol.shape)
