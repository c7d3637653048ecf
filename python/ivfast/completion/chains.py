"""Real option chains as completion samples (fine-tuning and evaluation)."""

from __future__ import annotations

import os
import pathlib
import warnings

import numpy as np

from ..chain import AmericanExerciseWarning, choose_root, prepare_quotes, read_chain
from .corpus import SurfaceSample

__all__ = ["FINE_TUNE_CHAINS", "HELD_OUT_CHAIN", "default_chains_dir", "chain_sample"]

FINE_TUNE_CHAINS = ("spx_2020-03-20_cboe", "spy_2025-09-25_cboe", "aapl_2019-08-23_cboe")
"""Real snapshots the default weights are fine-tuned on."""
HELD_OUT_CHAIN = "spx_2026-01-30_yahoo"
"""The real snapshot kept for evaluation only (never seen in training)."""


def default_chains_dir() -> pathlib.Path:
    """The repository's folder of real chains (``../shared/data/chains`` beside the source tree).

    Returns
    -------
    pathlib.Path
        ``$IVFAST_CHAINS_DIR`` when set.
    """
    env = os.environ.get("IVFAST_CHAINS_DIR")
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parents[3].parent / "shared" / "data" / "chains"


def chain_sample(path: str | os.PathLike[str]) -> SurfaceSample:
    """Read a chain file into a sample: cleaned OTM mids in NYSE trading time, bid-ask half-widths.

    The cleaning is ``ivfast fit``'s (:func:`ivfast.chain.prepare_quotes`, the root with most
    quotes, trading-time maturities where the file has dates).

    Parameters
    ----------
    path : str or os.PathLike
        A Cboe or Yahoo CSV (see :func:`ivfast.chain.read_chain`).

    Returns
    -------
    SurfaceSample
        ``iv`` and ``target`` are the mid vols; ``kind`` the file's stem.
    """
    path = pathlib.Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AmericanExerciseWarning)  # ETF/stock chains: known approximation
        frame = read_chain(path)
        roots, _ = choose_root(frame, "auto")
        quotes = prepare_quotes(frame, roots=roots)
    quotes = quotes.on_time_axis("trading")[0]
    k, tau, iv, _ = quotes.arrays()
    half = 0.5 * (quotes.iv_ask - quotes.iv_bid)
    half = np.where(np.isfinite(half) & (half > 0), half, 0.01 * iv)
    return SurfaceSample(k.copy(), tau.copy(), iv.copy(), iv.copy(), half, path.stem)
