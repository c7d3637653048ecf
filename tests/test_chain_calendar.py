"""Business-time year fractions: NYSE holidays, session counts, and the invariance of total variance."""

from __future__ import annotations

import numpy as np
import pytest

import ivfast
from ivfast.chain import prepare_quotes
from ivfast.chain.calendar import nyse_holidays, trading_days_between

# Published NYSE holiday calendars (nyse.com, "Holidays & Trading Hours").
NYSE_2020 = ["2020-01-01", "2020-01-20", "2020-02-17", "2020-04-10", "2020-05-25", "2020-07-03", "2020-09-07",
             "2020-11-26", "2020-12-25"]
NYSE_2026 = ["2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19", "2026-07-03",
             "2026-09-07", "2026-11-26", "2026-12-25"]
NYSE_2022 = ["2022-01-17", "2022-02-21", "2022-04-15", "2022-05-30", "2022-06-20", "2022-07-04", "2022-09-05",
             "2022-11-24", "2022-12-26"]  # New Year's Day 2022 fell on a Saturday: not observed


@pytest.mark.parametrize("year, published", [(2020, NYSE_2020), (2022, NYSE_2022), (2026, NYSE_2026)])
def test_holidays_match_published_calendars(year, published):
    assert nyse_holidays(year, year).astype(str).tolist() == published


def _sessions(start: str, ends: list[str]) -> np.ndarray:
    return trading_days_between(np.full(len(ends), start, dtype="datetime64[D]"), np.array(ends, dtype="datetime64[D]"))


def test_session_counts_skip_weekends_and_holidays():
    # From Friday 2026-01-30's close: Monday is one session, Friday five, the Tuesday after
    # Presidents' Day (Monday 2026-02-16, closed) eleven.
    np.testing.assert_array_equal(_sessions("2026-01-30", ["2026-02-02", "2026-02-06", "2026-02-17", "2026-01-30"]),
                                  [1, 5, 11, 0])
    # A Saturday-dated expiry (pre-2015 standard SPX) counts the sessions through Friday.
    np.testing.assert_array_equal(_sessions("2020-03-13", ["2020-03-21"]), [5])


def test_dates_broadcast_and_bad_dates_raise():
    np.testing.assert_array_equal(trading_days_between("2026-01-30", ["2026-02-02", "2026-01-29", "2026-01-30"]),
                                  [1, 0, 0])
    assert trading_days_between(np.array([], dtype="datetime64[D]"), []).shape == (0,)
    with pytest.raises(ValueError, match="end: expected dates"):
        trading_days_between("2026-01-30", "not a date")
    with pytest.raises(ValueError, match="start: expected dates"):
        trading_days_between(3.5, "2026-02-02")
    with pytest.raises(ValueError, match="start, end: shapes"):
        trading_days_between(["2026-01-30"] * 2, ["2026-02-02"] * 3)


def test_missing_dates_give_nan():
    out = trading_days_between(np.array(["2026-01-30", "NaT"], dtype="datetime64[D]"),
                               np.array(["NaT", "2026-02-02"], dtype="datetime64[D]"))
    assert np.isnan(out).all()


def _chain():
    return ivfast.datasets.synthetic_chain(0.2, [3 / 365, 17 / 365, 0.25], np.linspace(80, 120, 21),
                                           as_of="2026-01-30", spread=0.0, tick=0.0)


def test_trading_time_keeps_total_variance_and_calendar_tau():
    # Total implied variance is fixed by the price and the forward; only tau and iv change.
    act = prepare_quotes(_chain(), as_of="2026-01-30")
    bus = act.in_trading_time()
    a, b = act.to_frame(), bus.to_frame()
    assert len(a) == len(b) > 0 and bus.info["time_axis"] == "trading"
    # 2026-02-02 (Mon) is one session after Friday's close; 2026-02-16 is a holiday.
    sessions = {"2026-02-02": 1, "2026-02-16": 10, "2026-05-01": 63}  # Good Friday 2026-04-03 closed
    expected = b["expiry"].astype(str).str[:10].map(sessions) / 252
    np.testing.assert_array_equal(b["tau"], expected)
    np.testing.assert_array_equal(b["tau_calendar"], a["tau"])
    for col in ("iv_mid", "iv_bid", "iv_ask"):
        np.testing.assert_allclose(b[col] ** 2 * b["tau"], a[col] ** 2 * a["tau"], rtol=1e-14)
    assert bus.in_trading_time() is bus  # already in trading time: tau_calendar stays calendar


def test_trading_time_drops_expiries_without_a_session_and_needs_dates():
    # An expiry on Saturday after a Friday as-of date has no session left: dropped with a reason.
    chain = ivfast.datasets.synthetic_chain(0.2, [1 / 365, 17 / 365], np.linspace(90, 110, 11), as_of="2026-01-30",
                                            spread=0.0, tick=0.0)
    q = prepare_quotes(chain, as_of="2026-01-30", min_strikes=3)
    bus = q.in_trading_time()
    assert (bus.tau > 0).all() and len(bus) < len(q)
    assert (bus.dropped["reason"] == "no_trading_session").sum() == len(q) - len(bus)
    tau_only = prepare_quotes(chain.drop(columns="expiry"), as_of="2026-01-30", min_strikes=3)
    with pytest.raises(ValueError, match="expiry"):
        tau_only.in_trading_time()
