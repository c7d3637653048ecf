"""Quote-level cleaning: every quote that cannot be used gets a reason code.

The pipeline keeps one table with a ``reason`` column (empty string = usable) so that each
dropped quote stays traceable to its source row. Reason codes (:data:`DROP_REASONS`):

``expired``            tau <= 0 (expiry on or before the as-of date)
``bad_strike``         strike <= 0 or not finite
``zero_bid``           bid missing or <= 0 (no buyer: the mid is not a price)
``zero_ask``           ask missing or <= 0
``crossed``            bid > ask
``locked``             bid == ask
``duplicate``          another quote has the same (root, expiry, strike, type); the one with the
                       narrowest spread is kept
``no_forward``         the expiry has too few call/put pairs for parity and no curves were given
``below_intrinsic``    mid below the discounted intrinsic value D max(±(F - K), 0)
``at_intrinsic``       mid exactly at intrinsic (implied vol 0: carries no smile information)
``above_upper_bound``  mid at or above D F (calls) or D K (puts)
``invalid_price``      implied_vol rejected the inputs (non-finite forward or price)
``too_few_strikes``    the expiry has fewer than ``min_strikes`` usable strikes left
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..black import IVStatus

__all__ = ["DROP_REASONS", "SLICE_KEY", "flag_quotes", "flag_duplicates", "flag_thin_slices", "status_reason"]

DROP_REASONS = ("expired", "bad_strike", "zero_bid", "zero_ask", "crossed", "locked", "duplicate", "no_forward",
                "below_intrinsic", "at_intrinsic", "above_upper_bound", "invalid_price", "too_few_strikes")
SLICE_KEY = ["root", "expiry", "tau"]
"""Columns identifying one smile: the root is part of the key (SPX AM vs SPXW PM settlement).
The pipeline numbers the smiles in a ``slice`` column, which the functions here group on."""

_STATUS_REASON = {IVStatus.BELOW_INTRINSIC: "below_intrinsic", IVStatus.ABOVE_UPPER_BOUND: "above_upper_bound",
                  IVStatus.INVALID_INPUT: "invalid_price"}


def _set_reason(reason: np.ndarray, mask: np.ndarray, code: str) -> None:
    """Record ``code`` where ``mask`` holds and no earlier reason was recorded."""
    reason[mask & (reason == "")] = code


def flag_quotes(quotes: pd.DataFrame) -> np.ndarray:
    """Reason codes from each quote alone (expiry, strike, bid/ask sanity), '' where fine."""
    reason = np.full(len(quotes), "", dtype=object)
    bid = quotes["bid"].to_numpy()
    ask = quotes["ask"].to_numpy()
    strike = quotes["strike"].to_numpy()
    _set_reason(reason, ~(quotes["tau"].to_numpy() > 0), "expired")
    _set_reason(reason, ~(np.isfinite(strike) & (strike > 0)), "bad_strike")
    _set_reason(reason, ~(bid > 0), "zero_bid")  # NaN compares False: missing counts as zero
    _set_reason(reason, ~(ask > 0), "zero_ask")
    _set_reason(reason, bid > ask, "crossed")
    _set_reason(reason, bid == ask, "locked")
    return reason


def flag_duplicates(quotes: pd.DataFrame, reason: np.ndarray) -> None:
    """Among usable quotes with the same (root, expiry, strike, type) keep the tightest."""
    usable = quotes[reason == ""]
    spread = (usable["ask"] - usable["bid"]).to_numpy()
    order = usable.assign(_spread=spread, _pos=np.flatnonzero(reason == "")).sort_values(
        "_spread", kind="stable")
    dup = order.duplicated(["slice", "strike", "is_call"], keep="first")
    reason[order["_pos"].to_numpy()[dup.to_numpy()]] = "duplicate"


def status_reason(status: np.ndarray, vol: np.ndarray) -> np.ndarray:
    """Reason codes for :func:`ivfast.implied_vol` statuses of mid prices ('' = inverted)."""
    out = np.full(status.shape, "", dtype=object)
    for code, text in _STATUS_REASON.items():
        out[status == code] = text
    out[(status == IVStatus.OK) & (vol == 0)] = "at_intrinsic"
    return out


def flag_thin_slices(quotes: pd.DataFrame, reason: np.ndarray, min_strikes: int) -> None:
    """Drop every quote of an expiry with fewer than ``min_strikes`` distinct usable strikes."""
    usable = reason == ""
    strikes_per_slice = quotes[usable].groupby("slice")["strike"].nunique()
    counts = strikes_per_slice.reindex(quotes["slice"]).fillna(0).to_numpy()
    _set_reason(reason, usable & (counts < min_strikes), "too_few_strikes")
