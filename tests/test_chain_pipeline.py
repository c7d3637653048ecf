"""Input checking, cleaning rules, OTM selection and the SurfaceQuotes object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ivfast
from ivfast import chain, datasets

STRIKES = np.r_[np.arange(60.0, 90.0, 5.0), np.arange(90.0, 110.0, 1.0), np.arange(110.0, 161.0, 5.0)]
AS_OF = "2024-01-02"


@pytest.fixture(scope="module")
def frame():
    return datasets.synthetic_chain(0.2, [0.1, 0.5], STRIKES, spread=0.01, tick=0.01, seed=3)


def _quotes(n=6, **overrides):
    base = pd.DataFrame({"expiry": ["2024-06-28"] * n, "strike": np.linspace(90, 110, n), "type": ["C", "p"] * (n // 2),
                         "bid": np.ones(n), "ask": np.full(n, 1.1)})
    return base.assign(**overrides)


# ------------------------------------------------------------------ malformed input
def test_empty_table_is_rejected():
    with pytest.raises(ValueError, match="no rows"):
        chain.normalize_quotes(_quotes().iloc[:0], as_of=AS_OF)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="'bid'.*'ask'"):
        chain.normalize_quotes(_quotes().drop(columns=["bid", "ask"]), as_of=AS_OF)
    with pytest.raises(ValueError, match="expiry or tau"):
        chain.normalize_quotes(_quotes().drop(columns="expiry"), as_of=AS_OF)


def test_strings_in_numeric_columns_name_column_and_row():
    bad = _quotes().astype({"bid": object})
    bad.loc[3, "bid"] = "n/a?"
    with pytest.raises(ValueError, match=r"column 'bid': 'n/a\?' at row 3"):
        chain.normalize_quotes(bad, as_of=AS_OF)
    with pytest.raises(ValueError, match="column 'strike': missing value at row 1"):
        chain.normalize_quotes(_quotes().assign(strike=[90, np.nan, 95, 100, 105, 110]), as_of=AS_OF)


def test_unparseable_types_and_dates_name_column_and_row():
    with pytest.raises(ValueError, match="column 'type': 'X' at row 2"):
        chain.normalize_quotes(_quotes(type=["c", "P", "X", "call", "PUT", "Put"]), as_of=AS_OF)
    with pytest.raises(ValueError, match="column 'expiry': 'someday' at row 4"):
        chain.normalize_quotes(_quotes(expiry=["2024-06-28"] * 4 + ["someday", "2024-06-28"]), as_of=AS_OF)
    with pytest.raises(ValueError, match="as_of"):
        chain.normalize_quotes(_quotes())
    with pytest.raises(ValueError, match="as_of"):
        chain.normalize_quotes(_quotes(), as_of="not a date")


def test_all_quotes_bad_is_a_value_error_with_the_reasons():
    with pytest.raises(ValueError, match=r"all 6 quotes were dropped \(zero_bid: 6\)"):
        chain.prepare_quotes(_quotes(bid=0.0), as_of=AS_OF)


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="weights"):
        chain.prepare_quotes(_quotes(), as_of=AS_OF, weights="volume")
    with pytest.raises(ValueError, match="min_strikes"):
        chain.analyze_chain(_quotes(), as_of=AS_OF, min_strikes=0)
    with pytest.raises(ValueError, match="discount"):
        chain.analyze_chain(_quotes(), as_of=AS_OF, discount="flat")
    with pytest.raises(ValueError, match="day_count"):
        chain.normalize_quotes(_quotes(), as_of=AS_OF, day_count="30/360")
    with pytest.raises(ValueError, match="roots"):
        chain.analyze_chain(_quotes(), as_of=AS_OF, roots=["SPXW"])


# ------------------------------------------------------------------ normalisation
def test_column_map_case_and_type_spellings():
    raw = _quotes().rename(columns={"strike": "K", "type": "CallPut", "bid": "Bid"})
    raw["CallPut"] = ["CALL", "put", "c", "P", "Call", "Put"]
    q = chain.normalize_quotes(raw, as_of=AS_OF, columns={"K": "strike", "CallPut": "type"})
    assert q["is_call"].tolist() == [True, False, True, False, True, False]
    assert q["bid"].tolist() == [1.0] * 6 and np.allclose(q["mid"], 1.05)


def test_day_counts():
    q365 = chain.normalize_quotes(_quotes(), as_of=AS_OF)
    q360 = chain.normalize_quotes(_quotes(), as_of=AS_OF, day_count="ACT/360")
    days = (pd.Timestamp("2024-06-28") - pd.Timestamp(AS_OF)).days
    assert q365["tau"].iloc[0] == days / 365 and q360["tau"].iloc[0] == days / 360
    custom = chain.normalize_quotes(_quotes(), as_of=AS_OF, day_count=lambda a, e: np.full(len(e), 0.5))
    assert (custom["tau"] == 0.5).all()


# ------------------------------------------------------------------ cleaning rules
def test_quote_level_reasons():
    raw = _quotes(n=8, bid=[0, np.nan, 1.2, 1.1, 1, 1, 1, 1], ask=[1, 1, 1.1, 1.1, 0, 1.1, 1.1, 1.1],
                  expiry=["2024-06-28"] * 6 + ["2024-01-02", "2023-12-29"])
    result = chain.analyze_chain(raw, as_of=AS_OF)
    assert result.quotes["reason"].tolist()[:5] == ["zero_bid", "zero_bid", "crossed", "locked", "zero_ask"]
    assert result.quotes["reason"].tolist()[6:] == ["expired", "expired"]


def test_duplicates_keep_the_tightest_quote(frame):
    row = frame[(frame["type"] == "put") & (frame["strike"] == 95.0)].iloc[0]
    wide = row.to_frame().T.assign(bid=row["bid"] - 0.05, ask=row["ask"] + 0.05)
    doubled = pd.concat([wide, frame], ignore_index=True)  # the wide copy comes first
    result = chain.analyze_chain(doubled)
    assert result.quotes["reason"].iloc[0] == "duplicate"
    same = result.quotes[(result.quotes["strike"] == 95.0) & ~result.quotes["is_call"]
                         & (result.quotes["tau"] == row["tau"])]
    assert (same["reason"] == "").sum() == 1


def test_thin_expiry_is_dropped_as_too_few_strikes(frame):
    short = frame[frame["tau"] == frame["tau"].min()]
    result = chain.analyze_chain(short[short["strike"].between(98, 101)])
    assert set(result.quotes["reason"]) == {"too_few_strikes"}


# ------------------------------------------------------------------ selection and SurfaceQuotes
def test_otm_selection_and_blend(frame):
    q = chain.prepare_quotes(frame, blend_width=0.05).to_frame()
    zone = 0.05 * np.sqrt(q["tau"])
    assert (q.loc[q["k"] < -zone, "type"] == "put").all()
    assert (q.loc[q["k"] > zone, "type"] == "call").all()
    assert (q.loc[q["type"] == "blend", "k"].abs() <= zone[q["type"] == "blend"]).all()
    assert (q["type"] == "blend").sum() >= 2
    sharp = chain.prepare_quotes(frame, blend_width=0.0).to_frame()
    assert set(sharp["type"]) == {"put", "call"}
    assert (np.sign(sharp["k"]) == np.where(sharp["type"] == "call", 1, -1)).all()


def test_blend_is_the_linear_mix_of_call_and_put_vols(frame):
    result = chain.analyze_chain(frame)
    q = chain.select_otm(result, blend_width=0.05).to_frame()
    row = q[q["type"] == "blend"].iloc[0]
    legs = result.usable[(result.usable["slice"] == row["slice"]) & (result.usable["strike"] == row["strike"])]
    put = legs.loc[~legs["is_call"], "iv_mid"].item()
    call = legs.loc[legs["is_call"], "iv_mid"].item()
    share = 0.5 - row["k"] / (2 * 0.05 * np.sqrt(row["tau"]))
    assert row["iv_mid"] == pytest.approx(share * put + (1 - share) * call, rel=1e-14)


def test_weight_schemes(frame):
    analysis = chain.analyze_chain(frame)
    spread = chain.select_otm(analysis, weights="spread", min_spread=0.0)
    q = spread.to_frame()
    inv = 1.0 / (q["iv_ask"] - q["iv_bid"])
    assert np.allclose(spread.weights, inv / inv.mean(), rtol=1e-12)
    vega = chain.select_otm(analysis, weights="vega").to_frame()
    d1 = (-vega["k"] + 0.5 * vega["iv_mid"] ** 2 * vega["tau"]) / (vega["iv_mid"] * np.sqrt(vega["tau"]))
    phi = np.exp(-0.5 * d1**2)
    assert np.allclose(vega["weight"], phi / phi.mean(), rtol=1e-10)  # vega / (D F sqrt(tau)) = phi(d1)
    assert (chain.select_otm(analysis, weights="equal").weights == 1.0).all()


def test_surface_quotes_accessors_feed_fits(frame):
    result = ivfast.chain.prepare_quotes(frame)
    assert isinstance(result, ivfast.SurfaceQuotes)
    k, tau, iv, w = result.arrays()
    q = result.to_frame()
    for arr, col in ((k, "k"), (tau, "tau"), (iv, "iv_mid"), (w, "weight")):
        assert arr.dtype == np.float64 and np.array_equal(arr, q[col].to_numpy())
    assert set(result.fit_inputs()) == {"k", "tau", "iv", "weights"}
    assert np.allclose(result.total_variance, iv**2 * tau)
    assert len(result) == len(q) and list(q.columns[:8]) == ["k", "tau", "iv_mid", "iv_bid", "iv_ask", "weight",
                                                             "forward", "discount"]
    taus = [key[2] for key, _ in result.slices()]
    assert taus == sorted(taus) and len(taus) == 2
    q.loc[0, "k"] = 99.0
    assert result.k[0] != 99.0  # to_frame is a copy
    assert 0 < result.kept_fraction <= 1 and result.drop_summary().sum() == len(result.dropped)
