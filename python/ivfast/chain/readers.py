"""Readers for option-chain files: Yahoo/yfinance long CSV, Cboe delayed-quote CSV, plain tables.

Every reader returns a table in the *input* layout of :func:`ivfast.chain.normalize_quotes`
(``root, expiry, strike, type, bid, ask, volume, open_interest``; index labels name the
source line so that parse errors point into the file) with what the file says about the
snapshot in ``frame.attrs``: ``source`` ("yahoo", "cboe", "table"), ``as_of`` (the trading
date the quotes belong to, or None), ``spot`` (the header's last print, or None),
``quote_time`` and ``underlying``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import pathlib
import re
import warnings
from collections.abc import Iterable
from typing import Any, Union

import numpy as np
import pandas as pd

__all__ = ["AmericanExerciseWarning", "EUROPEAN_ROOTS", "read_chain", "read_cboe", "read_yahoo", "warn_if_american"]

ChainSource = Union[pd.DataFrame, str, os.PathLike[str]]
"""A quote table, or the path of a chain file."""

EUROPEAN_ROOTS = frozenset({"SPX", "SPXW", "SPXPM", "XSP", "NDX", "NDXP", "RUT", "RUTW", "MRUT", "DJX", "VIX",
                            "VIXW", "XEO"})
"""Cash-settled European index option roots; any other root is assumed American."""

_OCC_SYMBOL = re.compile(r"^\s*(?P<root>.+?)(?P<date>\d{6})(?P<cp>[CP])(?P<strike>\d{8})\s*$")
# Cboe rows: expiry, 10 call columns, strike, 10 put columns. Positions of the call fields we
# use; the put fields sit 11 places to the right. Headers are checked by prefix because the
# old layout says "Vol"/"Open Int" and the new one "Volume"/"Open Interest".
_CBOE_CALL_FIELDS = {"symbol": 1, "bid": 4, "ask": 5, "volume": 6, "open_interest": 10}
_CBOE_PUT_OFFSET = 11
_CBOE_HEADER = {0: "expiration date", 1: "calls", 4: "bid", 5: "ask", 6: "vol", 10: "open int", 11: "strike",
                12: "puts", 15: "bid", 16: "ask", 17: "vol", 21: "open int"}
_MARKET_OPEN = dt.time(9, 30)


class AmericanExerciseWarning(UserWarning):
    """Warn that options are American, so their European implied vols are approximations.

    American options carry an early-exercise premium (and single stocks and ETFs pay discrete
    dividends): European implied volatilities and parity forwards computed from them are
    approximations.

    Parameters
    ----------
    *args
        The warning message, as for any :class:`Warning`.
    **kwargs
        None are accepted (the signature of :class:`Warning`).
    """


def warn_if_american(roots: Iterable[object], *, stacklevel: int = 3) -> None:
    """Warn with :class:`AmericanExerciseWarning` when a root is not a known European index root.

    Parameters
    ----------
    roots : iterable
        Option roots (converted with ``str``; empty names are ignored).
    stacklevel : int, default 3
        Passed to :func:`warnings.warn`; 3 points at the caller of the function that calls this.
    """
    american = sorted({str(r) for r in roots if str(r) and str(r).upper() not in EUROPEAN_ROOTS})
    if american:
        warnings.warn(
            f"roots {american} are American-style options (early exercise, and discrete dividends on "
            "single stocks and ETFs): their European Black implied volatilities and parity forwards "
            "are approximations", AmericanExerciseWarning, stacklevel=stacklevel)


def _roots_from_symbols(symbols: pd.Series) -> pd.Series:
    roots = symbols.astype("string").str.extract(_OCC_SYMBOL)["root"]
    return roots.fillna("").str.strip()


def _check_file(path: Any) -> pathlib.Path:
    try:
        p = pathlib.Path(os.fspath(path))
    except TypeError:
        raise ValueError(f"path: expected a file path, got {type(path).__name__}") from None
    if not p.is_file():
        raise ValueError(f"path: {str(p)!r} is not a readable file")
    if p.stat().st_size == 0:
        raise ValueError(f"path: {str(p)!r} is empty")
    return p


def _read_text(path: pathlib.Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError as exc:
        raise ValueError(f"path: cannot read {str(path)!r} ({exc})") from None


# ---------------------------------------------------------------- Yahoo / yfinance long format
def read_yahoo(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a yfinance ``option_chain`` CSV (one row per contract, calls and puts concatenated).

    The root (e.g. ``SPX`` vs ``SPXW``, which Yahoo mixes at monthly expiries) comes from
    ``contractSymbol``. The file has no spot; ``attrs['as_of']`` is the New York date of the
    newest ``lastTradeDate`` (override it if the snapshot is stale).

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.

    Returns
    -------
    DataFrame
        The quotes in the input layout of :func:`ivfast.chain.normalize_quotes` plus the
        contract ``symbol``, indexed by source line; ``attrs`` as in the module docstring.

    Raises
    ------
    ValueError
        If the file is missing, empty, not a CSV or lacks the Yahoo columns.
    """
    p = _check_file(path)
    try:
        raw = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p.name}: not a readable CSV ({exc})") from None
    need = ["contractSymbol", "strike", "bid", "ask", "option_type", "expiration"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ValueError(f"{p.name}: not a Yahoo option-chain CSV, missing column(s) {missing}")
    out = pd.DataFrame({
        "root": _roots_from_symbols(raw["contractSymbol"]).to_numpy(dtype=object),
        "expiry": raw["expiration"].to_numpy(), "strike": raw["strike"].to_numpy(),
        "type": raw["option_type"].to_numpy(), "bid": raw["bid"].to_numpy(), "ask": raw["ask"].to_numpy(),
        "volume": raw.get("volume", pd.Series(np.nan, index=raw.index)).to_numpy(),
        "open_interest": raw.get("openInterest", pd.Series(np.nan, index=raw.index)).to_numpy(),
        "symbol": raw["contractSymbol"].to_numpy(),
    }, index=[f"line {i + 2}" for i in range(len(raw))])
    out.attrs.update(source="yahoo", spot=None, quote_time=None, underlying=None,
                     as_of=_yahoo_as_of(raw.get("lastTradeDate")))
    return out


def _yahoo_as_of(last_trade: pd.Series | None) -> dt.date | None:
    if last_trade is None:
        return None
    stamps = pd.to_datetime(last_trade, errors="coerce", utc=True).dropna()
    if stamps.empty:
        return None
    newest = stamps.max()
    try:
        newest = newest.tz_convert("America/New_York")
    except Exception:  # no tz database: the UTC date is right for a close-of-day download
        pass
    return newest.date()


# ---------------------------------------------------------------- Cboe delayed-quote format
def _cboe_header_line(lines: list[str]) -> int:
    for i, line in enumerate(lines[:20]):
        if line.lstrip('"').lower().startswith("expiration date"):
            return i
    return -1


def _parse_cboe_preamble(lines: list[str]) -> dict[str, Any]:
    rows = [next(csv.reader([line])) if line.strip() else [] for line in lines]
    rows = [r for r in rows if r]
    info: dict[str, Any] = {"underlying": None, "spot": None, "quote_time": None}
    if rows:
        info["underlying"] = rows[0][0].strip()
        spot_field = rows[0][1] if len(rows[0]) > 1 else ""
        spot_field = spot_field.split(":", 1)[1] if ":" in spot_field else spot_field
        try:
            info["spot"] = float(spot_field.replace(",", ""))
        except ValueError:
            info["spot"] = None
    if len(rows) > 1:
        info["quote_time"] = _parse_cboe_time(rows[1][0])
    return info


def _parse_cboe_time(text: str) -> dt.datetime | None:
    text = text.strip()
    if text.lower().startswith("date:"):
        text = text[5:].strip()
    text = re.sub(r"\s+(ET|EDT|EST)$", "", text)
    for fmt in ("%b %d %Y @ %H:%M", "%B %d, %Y at %I:%M %p"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def trading_date(quote_time: dt.datetime | None) -> dt.date | None:
    """Return the session a snapshot belongs to.

    Before the 9:30 open counts as the previous session, and weekends roll back to Friday
    (holidays are not known).
    """
    if quote_time is None:
        return None
    day = quote_time.date()
    if quote_time.time() < _MARKET_OPEN:
        day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def read_cboe(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Cboe delayed-quote CSV (old 2019-2020 or new 2023+ layout).

    The preamble gives ``attrs['spot']`` (the underlying's last print, *not* necessarily
    consistent with the option quotes: SPX options trade until 16:15 ET) and
    ``attrs['quote_time']``; ``attrs['as_of']`` is :func:`trading_date` of the quote time.
    Each row's call (left) and put (right) become two rows; the root comes from the contract
    symbols, so AM-settled ``SPX`` and PM-settled ``SPXW`` rows stay apart.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file as downloaded from Cboe's delayed-quotes page.

    Returns
    -------
    DataFrame
        The quotes in the input layout of :func:`ivfast.chain.normalize_quotes` plus the
        contract ``symbol``, indexed by source line and side; ``attrs`` as in the module
        docstring.

    Raises
    ------
    ValueError
        If the file is missing, empty or not in either Cboe layout.
    """
    p = _check_file(path)
    lines = _read_text(p)
    start = _cboe_header_line(lines)
    if start < 0:
        raise ValueError(f"{p.name}: not a Cboe quote file (no 'Expiration Date' header line)")
    body = "\n".join(lines[start:])
    try:
        raw = pd.read_csv(io.StringIO(body), header=None, skiprows=1)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{p.name}: the Cboe file has a header but no quote rows") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{p.name}: malformed Cboe rows ({exc})") from None
    header = [h.strip().lower() for h in next(csv.reader([lines[start]]))]
    _check_cboe_header(header, p.name)
    lineno = [f"line {start + 2 + i}" for i in range(len(raw))]
    sides = []
    for side, offset in (("call", 0), ("put", _CBOE_PUT_OFFSET)):
        part = pd.DataFrame({"expiry": raw[0].to_numpy(), "strike": raw[11].to_numpy(), "type": side},
                            index=[f"{n} {side}" for n in lineno])
        for name, pos in _CBOE_CALL_FIELDS.items():
            part[name] = raw[pos + offset].to_numpy()
        sides.append(part)
    out = pd.concat(sides)
    out.insert(0, "root", _roots_from_symbols(out["symbol"]).to_numpy(dtype=object))
    info = _parse_cboe_preamble(lines[:start])
    out.attrs.update(source="cboe", as_of=trading_date(info["quote_time"]), **info)
    return out


def _check_cboe_header(header: list[str], name: str) -> None:
    if len(header) != 22:
        raise ValueError(f"{name}: Cboe header has {len(header)} columns, expected 22")
    for col, expected in _CBOE_HEADER.items():
        if not header[col].startswith(expected):
            raise ValueError(f"{name}: unexpected Cboe layout, column {col + 1} is {header[col]!r}, "
                             f"expected {expected!r}")


# ---------------------------------------------------------------- detection
def read_chain(source: ChainSource, *, warn_american: bool = True) -> pd.DataFrame:
    """Read an option chain from a file (format detected) or pass a DataFrame through.

    Cboe files are recognised by their ``Expiration Date`` header line, Yahoo files by
    ``contractSymbol``/``option_type`` columns; ``.parquet`` files and any other CSV are read
    as plain tables in the layout of :func:`normalize_quotes`.

    Parameters
    ----------
    source : DataFrame, str or os.PathLike
        A quote table (returned as is, without warnings) or a file path.
    warn_american : bool, default True
        Issue an :class:`AmericanExerciseWarning` when a root is not a European index root.

    Returns
    -------
    DataFrame
        The chain in the input layout of :func:`ivfast.chain.normalize_quotes`, with the
        snapshot's ``attrs`` (see the module docstring).

    Raises
    ------
    ValueError
        If the file is missing, empty or unreadable in its detected format.
    """
    if isinstance(source, pd.DataFrame):
        return source
    p = _check_file(source)
    if p.suffix.lower() in (".parquet", ".pq"):
        frame = _read_parquet(p)
    else:
        head = _read_text(p)[:20]
        if _cboe_header_line(head) >= 0:
            frame = read_cboe(p)
        elif head and "contractSymbol" in head[0] and "option_type" in head[0]:
            frame = read_yahoo(p)
        else:
            frame = _read_table(p)
    if warn_american and "root" in frame.columns:
        warn_if_american(frame["root"].dropna().unique())
    return frame


def _read_table(p: pathlib.Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p.name}: not a readable CSV table ({exc})") from None
    frame.attrs.update(source="table", as_of=None, spot=None, quote_time=None, underlying=None)
    return frame


def _read_parquet(p: pathlib.Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(p)
    except ImportError as exc:
        raise ValueError(f"{p.name}: reading Parquet needs pyarrow or fastparquet ({exc})") from None
    except Exception as exc:  # the engines raise their own error types for corrupt files
        raise ValueError(f"{p.name}: not a readable Parquet file ({exc})") from None
    frame.attrs.update(source="table", as_of=None, spot=None, quote_time=None, underlying=None)
    return frame
