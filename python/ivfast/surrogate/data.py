"""Training data of the surrogate pricer: model parameters -> implied-vol grid (NumPy only).

Parameters are drawn by a scrambled Sobol' sequence or a Latin hypercube (``scipy.stats.qmc``)
over a box of parameter ranges, priced with the C++ Carr–Madan pricer (:func:`ivfast.call_prices_batch`)
and inverted with :func:`ivfast.implied_vol` from the out-of-the-money price (put below the forward,
from the call by put-call parity). A sample is kept only when every grid point's volatility is
recoverable: the inversion succeeded and the pricer's absolute error moves the volatility by at
most ``iv_rtol`` relative. Dropped samples are counted.

With ``path`` the data go to a directory: ``meta.json`` (the configuration) and one
``chunk_NNNNN.npz`` per chunk, each written atomically, so an interrupted run loses at most the
chunk in progress and the same call continues from the last complete chunk.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..black import black_vega, implied_vol
from ..pricing import call_prices_batch
from .grids import HORVATH_STRIKES, HORVATH_TAUS, model_class, resolve_ranges, validate_grid

__all__ = ["SurrogateDataset", "make_dataset", "load_dataset", "price_to_iv", "split_indices", "DESIGNS"]

DESIGNS = ("sobol", "lhs")
_META = "meta.json"
_FORMAT = 1


@dataclass
class SurrogateDataset:
    """Parameter sets and their implied-vol grids.

    Attributes
    ----------
    model : str
        "heston" or "bates".
    names : list of str
        Parameter names, the columns of ``params``.
    params : ndarray, shape (n, n_params)
        Kept parameter sets.
    iv : ndarray, shape (n, n_taus, n_strikes)
        Black implied volatilities (annualised) of the model's prices, rows = maturities.
    strikes : ndarray
        Strikes relative to spot (spot = 1).
    taus : ndarray
        Maturities in years.
    ranges : dict
        Sampling box, field -> (low, high).
    n_sampled, n_dropped : int
        Design points priced, and those dropped because some volatility was not recoverable.
    samples_per_second : float
        Throughput of the pricing + inversion done by the call that built this object (NaN if
        everything was loaded from disk).
    meta : dict
        The generation settings (seed, design, rate, dividend, tolerance, iv_rtol, ...).
    """

    model: str
    names: list[str]
    params: np.ndarray
    iv: np.ndarray
    strikes: np.ndarray
    taus: np.ndarray
    ranges: dict[str, tuple[float, float]]
    n_sampled: int
    n_dropped: int
    samples_per_second: float = float("nan")
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.params.shape[0])


def _design(design: str, n: int, dim: int, seed: int) -> np.ndarray:
    """Points in the unit cube; a Sobol' design takes the first n points of 2^ceil(log2 n)."""
    from scipy.stats import qmc  # scipy.stats is slow to import: only when sampling

    if design == "sobol":
        m = max(int(np.ceil(np.log2(max(n, 2)))), 1)
        return qmc.Sobol(dim, scramble=True, seed=seed).random_base2(m)[:n]
    if design == "lhs":
        return qmc.LatinHypercube(dim, seed=seed).random(n)
    raise ValueError(f"design: expected one of {DESIGNS}, got {design!r}")


def price_to_iv(params: np.ndarray, model: str, strikes: np.ndarray, taus: np.ndarray, *, rate: float = 0.0,
                dividend: float = 0.0, tolerance: float = 1e-14, iv_rtol: float = 1e-4,
                threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Price parameter sets on the grid (spot 1) and invert their out-of-the-money prices to vols.

    Parameters
    ----------
    params : ndarray, shape (n, n_params)
        Parameter sets in the field order of the model's dataclass.
    model : {"heston", "bates"}
        Model name.
    strikes : ndarray, shape (n_strikes,)
        Strikes relative to spot.
    taus : ndarray, shape (n_taus,)
        Maturities in years.
    rate, dividend : float, default 0.0
        Continuously compounded rate and dividend yield.
    tolerance : float, default 1e-14
        Absolute price accuracy asked of the pricer, per unit of discounted forward.
    iv_rtol : float, default 1e-4
        Largest relative volatility error the price accuracy may cause at a recoverable point.
    threads : int, optional
        Threads of the pricer and the inversion (default: all).

    Returns
    -------
    iv : ndarray, shape (n, n_taus, n_strikes)
        Annualised Black implied vols, NaN at unrecoverable points.
    ok : ndarray of bool, shape (n,)
        Whether every point of a sample's grid is recoverable.
    """
    calls = call_prices_batch(params, strikes, taus, model=model_class(model), spot=1.0, rate=rate,
                              dividend=dividend, threads=threads, tolerance=tolerance)
    tau = taus[:, None]
    fwd = np.exp((rate - dividend) * tau)
    disc = np.exp(-rate * tau)
    is_call = strikes[None, :] >= fwd
    otm = np.where(is_call, calls, calls - disc * (fwd - strikes[None, :]))
    iv, status = implied_vol(otm, fwd, strikes[None, :], tau, is_call=is_call, discount=disc,
                             return_status=True, threads=threads)
    # Absolute price error: the pricer's target plus the rounding of the parity subtraction.
    price_err = tolerance * fwd * disc + 4.0 * np.finfo(float).eps * np.maximum(calls, disc * fwd)
    with np.errstate(divide="ignore", invalid="ignore"):
        iv_err = price_err / (black_vega(fwd, strikes[None, :], tau, iv, discount=disc, threads=threads) * iv)
    good = (status == 0) & np.isfinite(iv) & (iv_err <= iv_rtol)
    return np.where(good, iv, np.nan), good.reshape(good.shape[0], -1).all(axis=1)


def _config(model: str, n: int, ranges: dict[str, tuple[float, float]], strikes: np.ndarray, taus: np.ndarray,
            seed: int, design: str, chunk_size: int, rate: float, dividend: float, tolerance: float,
            iv_rtol: float) -> dict[str, Any]:
    return {"format": _FORMAT, "model": model, "n": int(n), "ranges": {k: list(v) for k, v in ranges.items()},
            "strikes": strikes.tolist(), "taus": taus.tolist(), "seed": int(seed), "design": design,
            "chunk_size": int(chunk_size), "rate": float(rate), "dividend": float(dividend),
            "tolerance": float(tolerance), "iv_rtol": float(iv_rtol)}


def _open_directory(path: Path, config: dict[str, Any]) -> None:
    meta = path / _META
    if meta.exists():
        old = json.loads(meta.read_text())
        diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
        if diff:
            raise ValueError(f"path: {path} holds a dataset with different settings ({', '.join(diff)}); "
                             "use another path or the same settings to resume")
        return
    path.mkdir(parents=True, exist_ok=True)
    _atomic_write(meta, json.dumps(config, indent=1).encode())


def _atomic_write(target: Path, data: bytes) -> None:
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _chunk_path(path: Path, i: int) -> Path:
    return path / f"chunk_{i:05d}.npz"


def _save_chunk(target: Path, **arrays: Any) -> None:  # arrays and NumPy scalars
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, target)


def make_dataset(model: str = "heston", n: int = 10_000, ranges: Mapping[str, Any] | None = None,
                 strikes: ArrayLike | None = None, taus: ArrayLike | None = None, seed: int = 0,
                 threads: int | None = None, path: str | os.PathLike[str] | None = None, *, design: str = "sobol",
                 chunk_size: int = 2048,
                 rate: float = 0.0, dividend: float = 0.0, tolerance: float = 1e-14, iv_rtol: float = 1e-4,
                 progress: bool = True) -> SurrogateDataset:
    """Sample parameter sets, price them and invert their implied-vol grids.

    Parameters
    ----------
    model : {"heston", "bates"}, default "heston"
        Model whose prices are sampled.
    n : int, default 10000
        Design points to price (the dataset keeps those whose grid is fully recoverable).
    ranges : mapping, optional
        field -> (low, high) overriding :data:`ivfast.surrogate.grids.DEFAULT_RANGES`.
    strikes, taus : array_like, optional
        Strikes relative to spot and maturities in years (default: Horvath et al.'s 11 x 8 grid).
    seed : int, default 0
        Seed of the scrambled design: the same seed gives identical arrays.
    threads : int, optional
        Threads of the pricer and the inversion (default: all).
    path : path, optional
        Directory for the chunks (see the module docstring); re-running with the same settings
        continues after the last complete chunk, different settings raise ``ValueError``.
    design : {"sobol", "lhs"}, default "sobol"
        Scrambled Sobol' sequence or Latin hypercube.
    chunk_size : int, default 2048
        Samples per chunk (and per pricer call).
    rate, dividend : float, default 0.0
        Continuously compounded rate and dividend yield (spot is 1).
    tolerance : float, default 1e-14
        Absolute price accuracy asked of the pricer, per unit of discounted forward.
    iv_rtol : float, default 1e-4
        Largest relative volatility error the price accuracy may cause at a kept point.
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    SurrogateDataset
        The kept samples with their grids, the drop count and the settings.

    Raises
    ------
    ValueError
        For invalid ranges, grid, ``n``, ``chunk_size``, ``iv_rtol`` or ``design``, or a ``path``
        holding a dataset made with other settings.
    """
    ranges = resolve_ranges(model, ranges)
    strikes, taus = validate_grid(HORVATH_STRIKES if strikes is None else strikes,
                                  HORVATH_TAUS if taus is None else taus)
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n: expected an integer >= 1, got {n!r}")
    if not (isinstance(chunk_size, (int, np.integer)) and chunk_size >= 1):
        raise ValueError(f"chunk_size: expected an integer >= 1, got {chunk_size!r}")
    if not (0.0 < iv_rtol < 1.0):
        raise ValueError(f"iv_rtol: expected a number in (0, 1), got {iv_rtol!r}")
    config = _config(model, n, ranges, strikes, taus, seed, design, chunk_size, rate, dividend, tolerance, iv_rtol)
    lo, hi = (np.array([b[j] for b in ranges.values()]) for j in (0, 1))
    points = lo + _design(design, int(n), lo.size, int(seed)) * (hi - lo)
    directory = None if path is None else Path(path)
    if directory is not None:
        _open_directory(directory, config)
    chunks = []
    n_chunks = -(-int(n) // int(chunk_size))
    new_samples, seconds = 0, 0.0
    from tqdm.auto import tqdm

    with tqdm(total=int(n), desc=f"{model} surrogate data", unit="sample", disable=not progress,
              dynamic_ncols=True) as bar:
        for i in range(n_chunks):
            rows = np.arange(i * chunk_size, min((i + 1) * chunk_size, n))
            target = None if directory is None else _chunk_path(directory, i)
            if target is not None and target.exists():
                with np.load(target) as z:
                    chunks.append({k: z[k] for k in z.files})
                bar.update(rows.size)
                continue
            start = time.perf_counter()
            iv, ok = price_to_iv(points[rows], model, strikes, taus, rate=rate, dividend=dividend,
                                 tolerance=tolerance, iv_rtol=iv_rtol, threads=threads)
            seconds += time.perf_counter() - start
            new_samples += rows.size
            chunk = {"params": points[rows][ok], "iv": iv[ok], "index": rows[ok], "n_sampled": np.int64(rows.size)}
            if target is not None:
                _save_chunk(target, **chunk)
            chunks.append(chunk)
            bar.update(rows.size)
            bar.set_postfix(kept=sum(c["index"].size for c in chunks))
    return _assemble(chunks, config, new_samples / seconds if seconds > 0 else float("nan"))


def _assemble(chunks: list[dict[str, Any]], config: dict[str, Any], rate: float) -> SurrogateDataset:
    n_sampled = int(sum(int(c["n_sampled"]) for c in chunks))
    params = np.concatenate([c["params"] for c in chunks])
    ranges = {k: tuple(v) for k, v in config["ranges"].items()}
    return SurrogateDataset(
        model=config["model"], names=list(ranges), params=params,
        iv=np.concatenate([c["iv"] for c in chunks]), strikes=np.array(config["strikes"]),
        taus=np.array(config["taus"]), ranges=ranges, n_sampled=n_sampled, n_dropped=n_sampled - params.shape[0],
        samples_per_second=rate, meta=dict(config))


def load_dataset(path: str | os.PathLike[str]) -> SurrogateDataset:
    """Load the complete chunks of a dataset directory written by :func:`make_dataset`.

    Parameters
    ----------
    path : str or os.PathLike
        The dataset directory (``meta.json`` and ``chunk_NNNNN.npz`` files).

    Returns
    -------
    SurrogateDataset
        The samples of the leading complete chunks (``samples_per_second`` is NaN).

    Raises
    ------
    ValueError
        If ``path`` has no ``meta.json`` or no complete chunk yet.
    """
    directory = Path(path)
    if not (directory / _META).is_file():
        raise ValueError(f"path: {directory} is not a surrogate dataset directory (no {_META})")
    config = json.loads((directory / _META).read_text())
    chunks = []
    n_chunks = -(-config["n"] // config["chunk_size"])
    for i in range(n_chunks):
        target = _chunk_path(directory, i)
        if not target.exists():
            break
        with np.load(target) as z:
            chunks.append({k: z[k] for k in z.files})
    if not chunks:
        raise ValueError(f"path: {directory} holds no complete chunk yet")
    return _assemble(chunks, config, float("nan"))


def split_indices(n: int, seed: int = 0, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``range(n)`` at random into disjoint train / validation / test index arrays.

    Parameters
    ----------
    n : int
        Number of samples.
    seed : int, default 0
        Seed of the permutation (the same seed gives the same split).
    fractions : tuple of three floats, default (0.6, 0.2, 0.2)
        Train, validation and test shares: non-negative, summing to 1.

    Returns
    -------
    train, val, test : ndarray of int
        Indices into the samples; the test split takes what rounding leaves.

    Raises
    ------
    ValueError
        If ``fractions`` is not three non-negative numbers summing to 1.
    """
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions: expected three non-negative numbers summing to 1, got {fractions}")
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = int(round(fractions[0] * n)), int(round(fractions[1] * n))
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
