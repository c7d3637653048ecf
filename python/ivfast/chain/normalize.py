"""Validate a quote table and bring it to the canonical long layout the chain pipeline uses.

Canonical columns (one row per option quote):

``row``            position of the quote in the caller's table (0-based); the index keeps the
                   caller's labels (file readers use them to name source lines)
``root``           option root / settlement series (``"SPXW"``, ``"SPX"``...; ``""`` when unknown)
``expiry``         expiry date (``NaT`` when only ``tau`` was given)
``tau``            year fraction from the as-of date to expiry (ACT/365 by default)
``strike``         strike, price units
``is_call``        bool
``bid``, ``ask``   quotes, discounted option prices in price units (NaN when missing)
``mid``            given mid, else ``(bid + ask) / 2``
``volume``, ``open_interest``  NaN when not given
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Union

import numpy as np
import pandas as pd

__all__ = ["DayCount", "year_fraction", "normalize_quotes", "CANONICAL_COLUMNS"]

CANONICAL_COLUMNS = ("row", "root", "expiry", "tau", "strike", "is_call", "bid", "ask", "mid",
                     "volume", "open_interest")

DayCount = Union[str, Callable[[pd.Timestamp, pd.Series], np.ndarray]]
"""A day-count name (``"ACT/365"``, ``"ACT/365F"``, ``"ACT/360"``, ``"ACT/365.25"``) or a callable
``(as_of, expiry_series) -> years``."""
DateLike = Union[str, dt.date, np.datetime64]
"""A date: an ISO string, a ``datetime.date``/``datetime``/``pandas.Timestamp`` or a ``numpy.datetime64``."""
_DAYS_PER_YEAR = {"ACT/365": 365.0, "ACT/365F": 365.0, "ACT/360": 360.0, "ACT/365.25": 365.25}
_CALL_WORDS = ("c", "call", "calls")
_PUT_WORDS = ("p", "put", "puts")


def year_fraction(as_of: DateLike, expiry: pd.Series, day_count: DayCount = "ACT/365") -> np.ndarray:
    """Year fractions from ``as_of`` to each expiry date.

    Dates are whole days: the time of day of the quote and of settlement is ignored.

    Parameters
    ----------
    as_of : str, date or numpy.datetime64
        Valuation date (a time zone, if any, is dropped).
    expiry : pandas.Series
        Expiry dates (anything :func:`pandas.to_datetime` parses; NaT gives NaN).
    day_count : str or callable, default "ACT/365"
        ``"ACT/365"`` (actual days / 365; ``"ACT/365F"`` is the same), ``"ACT/360"``,
        ``"ACT/365.25"`` (names case-insensitive), or a callable
        ``(as_of, expiry_series) -> years`` that receives ``as_of`` as a midnight
        :class:`pandas.Timestamp`.

    Returns
    -------
    ndarray
        Year fractions, float64, one per expiry; negative for expiries before ``as_of``.

    Raises
    ------
    ValueError
        If ``as_of`` is not a date or ``day_count`` is an unknown name.
    """
    as_of = _as_timestamp(as_of)
    if callable(day_count):
        return np.asarray(day_count(as_of, expiry), dtype=np.float64)
    try:
        basis = _DAYS_PER_YEAR[str(day_count).upper()]
    except KeyError:
        raise ValueError(
            f"day_count: expected one of {sorted(_DAYS_PER_YEAR)} or a callable, got {day_count!r}") from None
    days = (pd.to_datetime(expiry).dt.normalize() - as_of).dt.days
    return days.to_numpy(dtype=np.float64, na_value=np.nan) / basis


def _as_timestamp(value: DateLike) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"as_of: expected a date, got {value!r} ({exc})") from None
    if pd.isna(stamp):
        raise ValueError(f"as_of: expected a date, got {value!r}")
    return stamp.tz_localize(None).normalize() if stamp.tzinfo is not None else stamp.normalize()


def _first_bad(mask: np.ndarray, index: pd.Index) -> str:
    pos = int(np.flatnonzero(mask)[0])
    return f"row {pos} (index {index[pos]!r})"


def _parse_numeric(frame: pd.DataFrame, name: str, required: bool) -> np.ndarray:
    raw = frame[name]
    if raw.dtype.kind in "fiub":
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = raw.astype("string").str.strip().str.replace(",", "", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        unparsed = np.isnan(values) & raw.notna().to_numpy() & (text.fillna("") != "").to_numpy()
        if unparsed.any():
            bad = _first_bad(unparsed, frame.index)
            raise ValueError(f"column {name!r}: {raw.iloc[np.flatnonzero(unparsed)[0]]!r} at {bad} is not a number")
    if required and np.isnan(values).any():
        raise ValueError(f"column {name!r}: missing value at {_first_bad(np.isnan(values), frame.index)}")
    return values


def _parse_type(frame: pd.DataFrame) -> np.ndarray:
    text = frame["type"].astype("string").str.strip().str.lower().fillna("")
    calls = text.isin(_CALL_WORDS).to_numpy()
    puts = text.isin(_PUT_WORDS).to_numpy()
    bad = ~(calls | puts)
    if bad.any():
        value = frame["type"].iloc[np.flatnonzero(bad)[0]]
        raise ValueError(f"column 'type': {value!r} at {_first_bad(bad, frame.index)} is not call/put (C/P)")
    return calls


def _parse_expiry(frame: pd.DataFrame) -> pd.Series:
    raw = frame["expiry"]
    parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    bad = parsed.isna().to_numpy()
    if bad.any():
        value = raw.iloc[np.flatnonzero(bad)[0]]
        raise ValueError(f"column 'expiry': {value!r} at {_first_bad(bad, frame.index)} is not a date")
    return parsed.dt.normalize()


def normalize_quotes(
    quotes: pd.DataFrame,
    *,
    as_of: DateLike | None = None,
    columns: Mapping[str, str] | None = None,
    day_count: DayCount = "ACT/365",
) -> pd.DataFrame:
    """Check a quote table and return it in the canonical layout (see the module docstring).

    Parameters
    ----------
    quotes : DataFrame
        One row per option: ``expiry`` (date) or ``tau`` (years), ``strike``, ``type``
        (call/put, C/P, any case), ``bid``, ``ask``; optional ``mid``, ``volume``,
        ``open_interest``, ``root``. Prices are discounted premiums per unit of underlying.
    as_of : str, date or numpy.datetime64, optional
        Valuation date; required when ``expiry`` dates are given and no ``tau`` column.
    columns : mapping, optional
        Renames from the caller's column names to the canonical ones, e.g. ``{"K": "strike"}``.
    day_count : str or callable, default ``"ACT/365"``
        See :func:`year_fraction`. ``tau`` given in the table is used as is.

    Returns
    -------
    DataFrame
        The :data:`CANONICAL_COLUMNS`, one row per input row, with the caller's index.

    Raises
    ------
    ValueError
        Empty table, a missing column, or a value that cannot be parsed (the message names
        the column and the first offending row).
    """
    if not isinstance(quotes, pd.DataFrame):
        raise ValueError(f"quotes: expected a pandas DataFrame, got {type(quotes).__name__}")
    frame = quotes.rename(columns=dict(columns or {}))
    frame = frame.rename(columns={c: c.strip().lower() for c in frame.columns if isinstance(c, str)})
    if len(frame) == 0:
        raise ValueError("quotes: the table has no rows")
    missing = [c for c in ("strike", "type", "bid", "ask") if c not in frame.columns]
    if "expiry" not in frame.columns and "tau" not in frame.columns:
        missing.append("expiry or tau")
    if missing:
        raise ValueError(f"quotes: missing column(s) {', '.join(map(repr, missing))}; found {list(frame.columns)} "
                         "(map other names with columns={'your_name': 'strike', ...})")
    n = len(frame)
    out = pd.DataFrame({"row": np.arange(n)}, index=frame.index)
    out["root"] = (frame["root"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
                   if "root" in frame else "")
    if "expiry" in frame.columns:
        out["expiry"] = _parse_expiry(frame).to_numpy()
    else:
        out["expiry"] = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if "tau" in frame.columns:
        out["tau"] = _parse_numeric(frame, "tau", required=True)
    else:
        if as_of is None:
            raise ValueError("as_of: needed to turn 'expiry' dates into year fractions (or give a 'tau' column)")
        out["tau"] = year_fraction(as_of, out["expiry"], day_count)
    out["strike"] = _parse_numeric(frame, "strike", required=True)
    out["is_call"] = _parse_type(frame)
    for name in ("bid", "ask", "mid", "volume", "open_interest"):
        out[name] = _parse_numeric(frame, name, required=False) if name in frame.columns else np.nan
    given_mid = out["mid"].to_numpy()
    out["mid"] = np.where(np.isnan(given_mid), 0.5 * (out["bid"] + out["ask"]), given_mid)
    return out[list(CANONICAL_COLUMNS)]


