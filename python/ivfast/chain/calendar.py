"""NYSE trading days, for a trading-time maturity axis (:meth:`SurfaceQuotes.in_trading_time`).

Implied total variance builds up while the market trades: an option expiring on Monday carries
about one more session of variance than Friday's, not three calendar days' worth. Measuring
maturity in trading sessions makes total variance nearly linear across weekend and holiday
expiries, which a smooth surface in tau can then follow. Total variance itself does not depend
on the convention (it is fixed by price and forward); only the tau axis and iv = sqrt(w / tau) do.
Discounting and parity stay in calendar time (ACT/365): rates accrue by the calendar.

The holiday rules are the NYSE's regular full-day closures since 2022 (Juneteenth included):
New Year's Day, Martin Luther King Jr. Day, Washington's Birthday, Good Friday, Memorial Day,
Juneteenth, Independence Day, Labor Day, Thanksgiving and Christmas, with Saturday holidays
observed on Friday and Sunday holidays on Monday (New Year's Day on a Saturday is not observed).
Unscheduled closures (national days of mourning, weather) are not included.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["nyse_holidays", "trading_days_between"]

TRADING_DAYS_PER_YEAR = 252.0


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday by the anonymous Gregorian computus (Meeus, Astronomical Algorithms)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """Return the n-th given weekday (Monday = 0) of a month; n = -1 for the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


def _holidays_of(year: int) -> list[dt.date]:
    fixed = [dt.date(year, 7, 4), dt.date(year, 12, 25)] + ([dt.date(year, 6, 19)] if year >= 2022 else [])
    new_year = dt.date(year, 1, 1)
    days = [_observed(d) for d in fixed]
    if new_year.weekday() != 5:
        days.append(_observed(new_year))
    days += [
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - dt.timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    ]
    return sorted(days)


@lru_cache(maxsize=None)
def nyse_holidays(first_year: int, last_year: int) -> np.ndarray:
    """NYSE full-day holidays of the years ``first_year..last_year``.

    Parameters
    ----------
    first_year, last_year : int
        Calendar years, inclusive.

    Returns
    -------
    ndarray of datetime64[D]
        The holidays in date order (cached: do not modify the array).
    """
    days = [d for year in range(first_year, last_year + 1) for d in _holidays_of(year)]
    return np.array(days, dtype="datetime64[D]")


def _dates(values: ArrayLike, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype="datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected dates (datetime64[D] or ISO strings), got {values!r} ({exc})") from None


def trading_days_between(start: ArrayLike, end: ArrayLike) -> np.ndarray:
    """Count the trading sessions in ``(start, end]``.

    The sessions that close after the close on ``start``, up to and including the one ending
    on ``end``.

    Parameters
    ----------
    start, end : array_like of dates
        ``datetime64[D]`` values or ISO date strings, broadcastable together; NaT is missing.

    Returns
    -------
    ndarray of float
        Session counts with the broadcast shape; zero or negative when ``end`` is not after
        ``start``, NaN where either date is missing.

    Raises
    ------
    ValueError
        If an argument is not dates (the message names it) or the shapes do not broadcast.
    """
    start, end = _dates(start, "start"), _dates(end, "end")
    try:
        start, end = np.broadcast_arrays(start, end)
    except ValueError:
        raise ValueError(f"start, end: shapes {start.shape} and {end.shape} do not broadcast") from None
    valid = ~(np.isnat(start) | np.isnat(end))
    out = np.full(start.shape, np.nan)
    if valid.any():
        years = np.concatenate([start[valid], end[valid]]).astype("datetime64[Y]").astype(int) + 1970
        holidays = nyse_holidays(int(years.min()), int(years.max()))
        one = np.timedelta64(1, "D")
        out[valid] = np.busday_count(start[valid] + one, end[valid] + one, holidays=holidays)
    return out
