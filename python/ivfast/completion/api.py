"""``complete_surface``: from a few quotes to a certified arbitrage-free surface in one forward pass."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from ..surface.inputs import Quotes
from ..svi.atm import SoftplusCurve
from .correction import certify, fit_correction
from .model import CompletionNet
from .quotes import atm_curve, chain_features, validate
from .refine import refine
from .surface import CompletedSurface
from .tokens import pad_tokens, spread_subset
from .weights import load_weights

__all__ = ["complete_surface", "complete_surfaces", "default_model"]

MAX_TOKENS = 128
"""Quotes the network reads per surface; larger chains are thinned evenly (the refinement uses all).
The kernel embedding costs O(tokens^2 x d_model); the default weights were trained on 96."""
BATCH_CHUNK = 32
"""Surfaces per forward pass of :func:`complete_surfaces` (bounds the kernel embedding's memory)."""

_DEFAULT: dict[str, CompletionNet] = {}


def default_model() -> CompletionNet:
    """The shipped pre-trained completion network (loaded once).

    Returns
    -------
    CompletionNet
        The ``"ssvi"`` network of :data:`ivfast.completion.weights.DEFAULT_WEIGHTS`.
    """
    if "ssvi" not in _DEFAULT:
        _DEFAULT["ssvi"] = load_weights()[0]["ssvi"]
    return _DEFAULT["ssvi"]


def _resolve_model(model: CompletionNet | str | os.PathLike[str] | None) -> CompletionNet:
    if model is None:
        return default_model()
    if isinstance(model, CompletionNet):
        net = model
    elif isinstance(model, (str, os.PathLike)):
        networks = load_weights(model)[0]
        if "ssvi" not in networks:
            raise ValueError(f"model: {os.fspath(model)!r} holds no 'ssvi' completion network")
        net = networks["ssvi"]
    else:
        raise ValueError(f"model: expected a CompletionNet, a weights file or None, got {type(model).__name__}")
    if net.config.head != "ssvi":
        raise ValueError("model: expected an 'ssvi'-head network (the 'iv' head is not certified)")
    return net


def _features(given: ArrayLike | None, derived: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    if given is None:
        if derived.size != n:
            raise ValueError(f"features: the model expects {n} features, the chain gives {derived.size}; pass them")
        return derived
    arr = np.asarray(given, dtype=np.float64).reshape(-1)
    if arr.size != n or not np.isfinite(arr).all():
        raise ValueError(f"features: expected {n} finite numbers, got {np.asarray(given).shape} "
                         f"{'with non-finite values' if arr.size == n else ''}".rstrip())
    return arr


def complete_surfaces(quotes: Sequence[tuple[ArrayLike, ArrayLike, ArrayLike]], *,
                      weights: Sequence[ArrayLike | None] | None = None, features: ArrayLike | None = None,
                      model: CompletionNet | str | os.PathLike[str] | None = None,
                      refine_steps: int = 20, correct: bool = False) -> list[CompletedSurface]:
    """Complete many surfaces with one batched forward pass.

    Parameters
    ----------
    quotes : sequence of (k, tau, iv)
        Per surface: log-moneyness ``ln(K/F)``, years (> 0) and implied vols (> 0).
    weights : sequence of array_like or None, optional
        Per surface quote weights (None: equal).
    features : array_like, shape (n_surfaces, n_features), optional
        Market features (default: derived from each surface's quotes,
        :func:`ivfast.completion.quotes.chain_features`).
    model : CompletionNet, str or os.PathLike, optional
        An ``"ssvi"`` network or a weights file (default: the shipped weights).
    refine_steps : int
        Function evaluations of the refinement per surface (0: the network's answer alone,
        still certified).
    correct : bool
        Fit a spline factor to each surface's quotes under the no-arbitrage constraints
        (:mod:`ivfast.completion.correction`; seconds rather than milliseconds per chain).

    Returns
    -------
    list of CompletedSurface

    Raises
    ------
    ValueError
        As :func:`complete_surface`; ``quotes`` empty.
    """
    started = time.perf_counter()
    net = _resolve_model(model)
    if len(quotes) == 0:
        raise ValueError("quotes: expected at least one surface")
    if weights is not None and len(weights) != len(quotes):
        raise ValueError(f"weights: expected one entry per surface ({len(quotes)}), got {len(weights)}")
    feats = None if features is None else np.asarray(features, dtype=np.float64)
    if feats is not None and feats.shape[:1] != (len(quotes),):
        raise ValueError(f"features: expected shape ({len(quotes)}, {net.config.n_features}), got {feats.shape}")
    valid, curves, rows, subsets = [], [], [], []
    for i, (k, tau, iv) in enumerate(quotes):
        q = validate(k, tau, iv, None if weights is None else weights[i])
        curve = atm_curve(*q[:3])
        valid.append(q)
        curves.append(curve)
        derived = chain_features(*q[:3], curve)
        rows.append(_features(None if feats is None else feats[i], derived, net.config.n_features))
        subsets.append(spread_subset(q[0], q[1], MAX_TOKENS))
    raw_parts = []
    for lo in range(0, len(valid), BATCH_CHUNK):
        part = range(lo, min(lo + BATCH_CHUNK, len(valid)))
        tokens = pad_tokens([valid[i][0][subsets[i]] for i in part], [valid[i][1][subsets[i]] for i in part],
                            [valid[i][2][subsets[i]] for i in part], [subsets[i].size for i in part],
                            np.array(rows[lo: part.stop]))
        with torch.inference_mode():
            raw_parts.append(net(tokens).double().numpy())
    raw_net = np.concatenate(raw_parts)
    encoded = time.perf_counter()
    out = []
    for (k, tau, iv, w), curve, z in zip(valid, curves, raw_net):
        z_ref, curve = refine(z, k, tau, iv, w, curve, refine_steps)
        info = {"network_raw": z.tolist(), "refined_raw": z_ref.tolist(), "refine_steps": refine_steps,
                "n_quotes": int(k.size), "n_tokens": int(min(k.size, MAX_TOKENS))}
        surface = CompletedSurface(curve, z_ref, Quotes(k, tau, iv, w), info)
        out.append(_corrected(surface, curve, z_ref, w) if correct else surface)
    finished = time.perf_counter()
    for s in out:
        s.info["seconds"] = {"network_batch": encoded - started, "total_batch": finished - started}
    return out


def _corrected(surface: CompletedSurface, curve: SoftplusCurve, raw: NDArray[np.float64],
               weights: NDArray[np.float64]) -> CompletedSurface:
    """The surface times its certified spline factor (:mod:`ivfast.completion.correction`); ``weights`` sum to 1."""
    q = surface.quotes
    started = time.perf_counter()
    correction, info = fit_correction(surface.model, q.k, q.tau, q.iv, weights)
    out, factor = certify(lambda c: CompletedSurface(curve, raw, q, surface.info, c), correction)
    out.info = {**surface.info, "correction": {**info, "factor": factor, "seconds": time.perf_counter() - started}}
    return out


def complete_surface(k: ArrayLike, tau: ArrayLike, iv: ArrayLike, *, weights: ArrayLike | None = None,
                     features: ArrayLike | None = None, model: CompletionNet | str | os.PathLike[str] | None = None,
                     refine_steps: int = 20, correct: bool = False) -> CompletedSurface:
    """Complete an implied-volatility surface from sparse quotes, certified free of static arbitrage.

    A pre-trained IvySPT-style transformer reads the quotes and their market features and gives
    the parameters of a power-law SSVI on the quotes' strictly increasing ATM curve; a short
    refinement on the quotes stays inside Gatheral & Jacquier's no-arbitrage set, so the surface
    has no calendar or butterfly arbitrage anywhere (see :mod:`ivfast.completion`).

    Parameters
    ----------
    k : array_like, shape (n,)
        Log-moneyness ``ln(K/F)`` against each quote's forward.
    tau : array_like, shape (n,)
        Years to expiry (> 0).
    iv : array_like, shape (n,)
        Black implied vols (> 0; 0.2 is 20 %).
    weights : array_like, shape (n,), optional
        Non-negative quote weights in the refinement (e.g. inverse bid-ask widths; None: equal).
    features : array_like, shape (n_features,), optional
        Market features (default: derived from the quotes, :data:`ivfast.completion.quotes.FEATURE_NAMES`).
    model : CompletionNet, str or os.PathLike, optional
        An ``"ssvi"`` network or a weights file (default: the shipped weights).
    refine_steps : int
        Function evaluations of the refinement (0: the network's answer alone, still certified).
    correct : bool
        Multiply the SSVI by a spline factor fitted to the quotes under the calendar and
        butterfly conditions on a grid that resolves it (:mod:`ivfast.completion.correction`),
        shrunk until the surface's own dense check, ``ivfast check``'s default grid and
        ``ivfast fit``'s quoted-domain grid are clean: far closer to a dense chain (see
        bench/README.md), at a cost of seconds instead of milliseconds.

    Returns
    -------
    CompletedSurface
        ``total_variance``, ``implied_vol``, ``total_variance_derivatives``, ``check()``,
        ``export()``, ``save()``; usable as ``init`` of :func:`ivfast.fit_surface`.

    Raises
    ------
    ValueError
        Naming the argument: fewer than 3 quotes, sizes that differ, NaN, ``tau <= 0``,
        ``iv <= 0``, weights of the wrong length or negative, features of the wrong length, a
        weights file of another version.
    """
    return complete_surfaces([(k, tau, iv)], weights=None if weights is None else [weights],
                             features=None if features is None else np.asarray(features, dtype=np.float64)[None],
                             model=model, refine_steps=refine_steps, correct=correct)[0]
