"""Sparse-surface completion: a pre-trained IvySPT-style transformer, certified free of static arbitrage.

:func:`complete_surface` turns a few (or a few hundred) quotes into a complete surface with one
forward pass of a small pre-trained network and a short refinement, in milliseconds. Needs the
torch extra.

Design, and what each part guarantees:

* the trunk is the published IvySPT ("A Surface is Worth Hundreds of Options"): kernel
  embedding of the observed vols with Gaussian-quantile bandwidths and a learnable elliptical
  scale, 2-D sinusoidal positional encoding (learnable sigma_scale, the sqrt(2) factor), a mask
  token, encoder blocks of self-attention, cross-attention to market features and gated fusion,
  the published initialisation (:mod:`~ivfast.completion.embedding`, :mod:`~ivfast.completion.encoder`);
* ivfast's head predicts power-law SSVI parameters mapped onto Gatheral & Jacquier's sufficient
  no-arbitrage set, on the quotes' strictly increasing ATM curve, and a Levenberg-Marquardt
  refinement on the quotes stays in that set: the surface is free of calendar and butterfly
  arbitrage and meets Lee's bound for every (k, tau), a theorem rather than a penalty
  (:mod:`~ivfast.completion.model`, :mod:`~ivfast.completion.refine`);
* the published head (vols at query points, soft calendar and butterfly penalties with the
  correct g) is kept as ``head="iv"`` for comparison; nothing certifies its output;
* the networks are pre-trained on synthetic Heston, Bates and SSVI surfaces that ivfast prices
  itself, with KMeans masking, and fine-tuned on real chains (:mod:`~ivfast.completion.train`;
  the shipped weights are rebuilt bit for bit by ``python -m ivfast.completion.train``).

The completed surface is a :class:`ivfast.surface.FittedSurface` (prior only), so the arbitrage
checks, export, ``ivfast check`` and the warm start of :func:`ivfast.fit_surface` take it as is.
"""

from __future__ import annotations

from .api import complete_surface, complete_surfaces
from .model import CompletionConfig, CompletionNet
from .surface import CompletedSurface
from .weights import DEFAULT_WEIGHTS, WEIGHTS_FORMAT, load_weights, save_weights

__all__ = [
    "complete_surface",
    "complete_surfaces",
    "CompletedSurface",
    "CompletionConfig",
    "CompletionNet",
    "load_weights",
    "save_weights",
    "DEFAULT_WEIGHTS",
    "WEIGHTS_FORMAT",
]
