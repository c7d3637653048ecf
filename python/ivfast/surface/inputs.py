"""Validation of the quotes handed to :func:`ivfast.fit_surface`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._arrays import as_float_array

__all__ = ["Quotes", "loss_quotes", "validate_quotes"]


@dataclass(frozen=True)
class Quotes:
    """Clean flat float64 quotes of one length.

    Attributes
    ----------
    k : ndarray
        Log-moneyness ``ln(K/F)`` (finite).
    tau : ndarray
        Years to expiry (> 0).
    iv : ndarray
        Black implied vols (> 0).
    weights : ndarray or None
        Non-negative quote weights, at least one positive (None: equal).
    iv_bid, iv_ask : ndarray or None
        Bid and ask implied vols (NaN where none exists: a bid below intrinsic value, an ask at
        the upper price bound), both or neither; ``iv_bid <= iv <= iv_ask`` where finite.
    """

    k: np.ndarray
    tau: np.ndarray
    iv: np.ndarray
    weights: np.ndarray | None
    iv_bid: np.ndarray | None = None
    iv_ask: np.ndarray | None = None


def validate_quotes(k: ArrayLike, tau: ArrayLike, iv: ArrayLike, weights: ArrayLike | None = None, *,
                    iv_bid: ArrayLike | None = None, iv_ask: ArrayLike | None = None,
                    drop_invalid: bool = False) -> Quotes:
    """Check lengths and values; raise ``ValueError`` naming the problem, or drop bad rows with a warning.

    Parameters
    ----------
    k, tau, iv : array_like
        Log-moneyness ``ln(K/F)``, years to expiry (> 0) and Black implied vols (> 0), flattened;
        all of one size.
    weights : array_like, optional
        Non-negative quote weights of the same size (None: equal).
    iv_bid, iv_ask : array_like, optional
        Bid and ask implied vols of the same size, NaN where none exists (both or neither).
    drop_invalid : bool
        Drop rows with an invalid value (with a ``RuntimeWarning``) instead of raising.

    Returns
    -------
    Quotes

    Raises
    ------
    ValueError
        Mismatched sizes, invalid values (unless ``drop_invalid``), fewer than 3 valid quotes,
        no positive weight, or only one of ``iv_bid`` and ``iv_ask``.
    """
    if (iv_bid is None) != (iv_ask is None):
        raise ValueError("iv_bid, iv_ask: expected both or neither")
    given: dict[str, ArrayLike] = {"k": k, "tau": tau, "iv": iv}
    for name, values in (("weights", weights), ("iv_bid", iv_bid), ("iv_ask", iv_ask)):
        if values is not None:
            given[name] = values
    arrays = {name: as_float_array(a, name).ravel() for name, a in given.items()}
    lengths = {name: a.size for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"quotes: mismatched lengths {lengths}; k, tau, iv (weights, iv_bid, iv_ask) must match")
    problems = {
        "k": ~np.isfinite(arrays["k"]),
        "tau": ~(np.isfinite(arrays["tau"]) & (arrays["tau"] > 0)),
        "iv": ~(np.isfinite(arrays["iv"]) & (arrays["iv"] > 0)),
    }
    if "weights" in arrays:
        problems["weights"] = ~(np.isfinite(arrays["weights"]) & (arrays["weights"] >= 0))
    if "iv_bid" in arrays:
        with np.errstate(invalid="ignore"):  # NaN compares False: a missing side is valid
            bid = arrays["iv_bid"]
            problems["iv_bid"] = ~(np.isnan(bid) | ((bid >= 0) & (bid <= arrays["iv"])))
            problems["iv_ask"] = np.isinf(arrays["iv_ask"]) | (arrays["iv_ask"] < arrays["iv"])
    bad = np.logical_or.reduce(list(problems.values()))
    if bad.any():
        detail = ", ".join(f"{name}: {int(mask.sum())} invalid (expected {_EXPECTED[name]})"
                           for name, mask in problems.items() if mask.any())
        if not drop_invalid:
            raise ValueError(f"quotes: {detail}; pass drop_invalid=True to drop those rows")
        warnings.warn(f"fit_surface: dropped {int(bad.sum())} invalid quotes ({detail})", RuntimeWarning,
                      stacklevel=3)
        arrays = {name: a[~bad] for name, a in arrays.items()}
    if arrays["k"].size < 3:
        raise ValueError(f"quotes: need at least 3 valid quotes, got {arrays['k'].size}")
    w = arrays.get("weights")
    if w is not None and not w.sum() > 0:
        raise ValueError("weights: expected at least one positive weight")
    return Quotes(arrays["k"], arrays["tau"], arrays["iv"], w, arrays.get("iv_bid"), arrays.get("iv_ask"))


def loss_quotes(k: np.ndarray, tau: np.ndarray, per_maturity: int) -> np.ndarray:
    """Pick the quotes the loss sees: at most ``per_maturity`` per maturity (0: all).

    Evenly spaced by rank in k within each maturity, so both ends of every smile stay in. A
    real index chain quotes 100-300 strikes per expiry, several per hundredth of k near the
    money, where neighbouring quotes carry almost the same information; each one costs a network
    evaluation and its backward pass in every epoch.

    Parameters
    ----------
    k, tau : ndarray
        Log-moneyness and maturities of the quotes (flat, one length).
    per_maturity : int
        Most quotes per distinct maturity (<= 0: all).

    Returns
    -------
    ndarray of int
        Sorted indices into ``k``.
    """
    if per_maturity <= 0:
        return np.arange(k.size)
    order = np.lexsort((k, tau))
    starts = np.flatnonzero(np.r_[True, np.diff(tau[order]) != 0])
    keep = [order[a + np.unique(np.round(np.linspace(0, b - a - 1, min(per_maturity, b - a))).astype(int))]
            for a, b in zip(starts, np.r_[starts[1:], k.size])]
    return np.sort(np.concatenate(keep))


_EXPECTED = {
    "k": "finite log-moneyness",
    "tau": "finite maturity > 0 years",
    "iv": "finite implied vol > 0",
    "weights": "finite weight >= 0",
    "iv_bid": "NaN or a bid vol in [0, iv]",
    "iv_ask": "NaN or a finite ask vol >= iv",
}
