"""Training batches: masked surfaces laid out as tokens, with the targets of each head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from .corpus import MAX_POINTS, SurfaceSample
from .masking import draw_mask
from .model import Tokens
from .quotes import atm_curve, chain_features
from .tokens import pad_tokens

__all__ = ["SSVIBatch", "IvBatch", "ssvi_batch", "iv_batch"]


@dataclass
class SSVIBatch:
    """Visible tokens, and the ATM total variance and target vol at every point of each surface."""

    tokens: Tokens
    k: torch.Tensor
    tau: torch.Tensor
    theta: torch.Tensor
    target: torch.Tensor
    valid: torch.Tensor


@dataclass
class IvBatch:
    """Visible + hidden-query + collocation tokens and the targets of the hidden queries."""

    tokens: Tokens
    target: torch.Tensor
    hidden: torch.Tensor
    collocation: torch.Tensor


def _masked(sample: SurfaceSample, rng: np.random.Generator, max_visible: int) -> tuple[
        NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.intp],
        NDArray[np.intp]]:
    n = sample.k.size
    idx = np.sort(rng.choice(n, MAX_POINTS, replace=False)) if n > MAX_POINTS else np.arange(n)
    k, tau, iv, target = sample.k[idx], sample.tau[idx], sample.iv[idx], sample.target[idx]
    hidden = draw_mask(k, tau, rng)
    visible = np.flatnonzero(~hidden)
    if visible.size > max_visible:
        visible = np.sort(rng.choice(visible, max_visible, replace=False))
    return k, tau, iv, target, visible, np.flatnonzero(hidden)


def _pad(rows: Sequence[NDArray[np.float64]], fill: float = 0.0) -> torch.Tensor:
    out = np.full((len(rows), max(r.size for r in rows)), fill)
    for i, r in enumerate(rows):
        out[i, : r.size] = r
    return torch.tensor(out)


def ssvi_batch(samples: Sequence[SurfaceSample], rng: np.random.Generator, max_visible: int) -> SSVIBatch:
    """Batch for the ``"ssvi"`` head: the loss covers every point, hidden or visible.

    Parameters
    ----------
    samples : sequence of SurfaceSample
        The surfaces.
    rng : numpy.random.Generator
        Random source of the masks.
    max_visible : int
        Visible tokens per surface at most.

    Returns
    -------
    SSVIBatch
    """
    vis_k, vis_tau, vis_iv, feats, ks, taus, thetas, targets = [], [], [], [], [], [], [], []
    for s in samples:
        k, tau, iv, target, visible, _ = _masked(s, rng, max_visible)
        curve = atm_curve(k[visible], tau[visible], iv[visible])
        vis_k.append(k[visible])
        vis_tau.append(tau[visible])
        vis_iv.append(iv[visible])
        feats.append(chain_features(k[visible], tau[visible], iv[visible], curve))
        ks.append(k)
        taus.append(tau)
        thetas.append(curve(tau)[0])
        targets.append(target)
    tokens = pad_tokens(vis_k, vis_tau, vis_iv, [a.size for a in vis_k], np.array(feats))
    valid = _pad([np.ones(a.size) for a in ks]) > 0
    return SSVIBatch(tokens, _pad(ks), _pad(taus, 1.0), _pad(thetas, 1.0), _pad(targets, 1.0), valid)


def iv_batch(samples: Sequence[SurfaceSample], rng: np.random.Generator, max_visible: int, max_query: int,
             n_collocation: int) -> IvBatch:
    """Batch for the published ``"iv"`` head: hidden queries plus random collocation points.

    Parameters
    ----------
    samples : sequence of SurfaceSample
        The surfaces.
    rng : numpy.random.Generator
        Random source of masks and collocation points.
    max_visible, max_query : int
        Visible and hidden-query tokens per surface at most.
    n_collocation : int
        Collocation points per surface (uniform in k, log-uniform in tau over its quotes' box),
        where the soft no-arbitrage terms are evaluated.

    Returns
    -------
    IvBatch
    """
    ks, taus, ivs, n_obs, feats, targets, hidden_rows, colloc_rows = [], [], [], [], [], [], [], []
    for s in samples:
        k, tau, iv, target, visible, hidden = _masked(s, rng, max_visible)
        if hidden.size > max_query:
            hidden = np.sort(rng.choice(hidden, max_query, replace=False))
        ck = rng.uniform(k.min(), k.max(), n_collocation)
        ct = np.exp(rng.uniform(np.log(tau.min()), np.log(tau.max()), n_collocation))
        curve = atm_curve(k[visible], tau[visible], iv[visible])
        feats.append(chain_features(k[visible], tau[visible], iv[visible], curve))
        ks.append(np.r_[k[visible], k[hidden], ck])
        taus.append(np.r_[tau[visible], tau[hidden], ct])
        ivs.append(np.r_[iv[visible], np.zeros(hidden.size + n_collocation)])
        n_obs.append(visible.size)
        targets.append(np.r_[np.zeros(visible.size), target[hidden], np.zeros(n_collocation)])
        hidden_rows.append(np.r_[np.zeros(visible.size), np.ones(hidden.size), np.zeros(n_collocation)])
        colloc_rows.append(np.r_[np.zeros(visible.size + hidden.size), np.ones(n_collocation)])
    tokens = pad_tokens(ks, taus, ivs, n_obs, np.array(feats))
    return IvBatch(tokens, _pad(targets).float(), _pad(hidden_rows) > 0, _pad(colloc_rows) > 0)
