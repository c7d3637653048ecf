"""De-Americanisation in the chain pipeline: synthetic American chains with known answers, the
CLI options, and the real SPY and AAPL chains (slow)."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest

import ivfast
from ivfast import cli
from ivfast.chain import american as chain_american
from ivfast.chain.gaps import put_call_gap

SPOT, RATE, VOL = 100.0, 0.05, 0.25
TAUS = (0.1, 0.5, 1.0)
STRIKES = np.arange(70.0, 131.0, 5.0)
DATA = pathlib.Path(__file__).parent / "data"


def _american_chain(yield_: float = 0.0, dividends=None) -> pd.DataFrame:
    """Exact American prices of one flat-vol model, quoted with a 1 % (at least 1 cent) spread."""
    tau, strike, is_call = (a.ravel() for a in np.meshgrid(TAUS, STRIKES, [True, False], indexing="ij"))
    mid = ivfast.american_price(SPOT, strike, tau, VOL, rate=RATE, dividend_yield=yield_, dividends=dividends,
                                is_call=is_call)
    half = np.maximum(0.005 * mid, 0.005)
    return pd.DataFrame({"tau": tau, "strike": strike, "type": np.where(is_call, "call", "put"),
                         "bid": mid - half, "ask": mid + half, "root": "XYZ"})


@pytest.fixture(scope="module")
def yield_chain():
    return _american_chain(yield_=0.02)


def test_american_quotes_give_back_the_model_vol_and_yield(yield_chain):
    a = ivfast.chain.analyze_chain(yield_chain, spot=SPOT, rate=RATE, exercise="american")
    ok = a.usable
    # The chain grid prices to ~1e-5 of the price; where vega is small that is ~1e-4 in vol.
    otm = np.where(ok["is_call"], ok["strike"] >= SPOT, ok["strike"] <= SPOT)
    assert np.abs(ok.loc[otm, "iv_mid"] - VOL).max() < 2e-4
    curves = a.info["american"].table
    np.testing.assert_allclose(curves["dividend_yield"], 0.02, atol=2e-4)
    assert (a.forwards["discount"] <= 1).all() and (a.forwards["discount_slice"] <= 1).all()
    # Treated as European, the same quotes show the bias: parity discount factors above 1, or
    # puts richer than calls at the same strike.
    e = ivfast.chain.analyze_chain(yield_chain, spot=SPOT, exercise="european")
    gap_a, gap_e = put_call_gap(a.quotes), put_call_gap(e.quotes)
    assert gap_a["median_abs_gap"].max() < 1e-3 < gap_e["median_abs_gap"].max()


def test_known_cash_dividends_and_early_exercise_drops():
    divs = [(0.2, 1.0), (0.45, 1.0), (0.7, 1.0), (0.95, 1.0)]
    frame = _american_chain(dividends=divs)
    a = ivfast.chain.analyze_chain(frame, spot=SPOT, rate=RATE, exercise="american", dividends=divs)
    ok = a.usable
    otm = np.where(ok["is_call"], ok["strike"] >= SPOT, ok["strike"] <= SPOT)
    assert np.abs(ok.loc[otm, "iv_mid"] - VOL).max() < 2e-4
    # no borrow on top of the known dividends
    np.testing.assert_allclose(a.info["american"].table["dividend_yield"], 0.0, atol=2e-4)
    # deep in-the-money puts sit at their exercise value: no volatility, reason early_exercise
    early = a.quotes[a.quotes["reason"] == chain_american.EARLY_EXERCISE]
    assert len(early) == a.info["american"].n_early_exercise > 0
    assert (~early["is_call"]).all() and (early["strike"] > SPOT).all()


def test_exercise_auto_and_bad_options():
    assert chain_american.resolve_exercise("auto", ["SPXW", "SPX"]) == "european"
    assert chain_american.resolve_exercise("auto", ["SPY"]) == "american"
    assert chain_american.resolve_exercise("auto", ["", None]) == "european"  # unnamed: as the reader's warning
    with pytest.raises(ValueError, match="exercise"):
        ivfast.chain.analyze_chain(_american_chain(), spot=SPOT, exercise="bermudan")
    with pytest.raises(ValueError, match="spot"):
        ivfast.chain.analyze_chain(_american_chain(), exercise="american")


def test_read_dividends(tmp_path):
    table = chain_american.read_dividends(DATA / "aapl_dividends_2019-08-23.csv", "2019-08-23")
    assert table.shape == (7, 2) and table[0, 0] == pytest.approx(76 / 365) and table[0, 1] == 0.77
    bad = tmp_path / "bad.csv"
    bad.write_text("date,cash\n2020-01-01,1\n")
    with pytest.raises(ValueError, match="ex_date"):
        chain_american.read_dividends(bad, "2019-08-23")
    bad.write_text("ex_date,amount\n2020-01-01,-1\n")
    with pytest.raises(ValueError, match="dividends"):
        chain_american.read_dividends(bad, "2019-08-23")


def test_cli_iv_american_writes_both_prices(tmp_path, capsys):
    path = tmp_path / "chain.csv"
    _american_chain(yield_=0.02).to_csv(path, index=False)
    out = tmp_path / "out.csv"
    assert cli.main(["iv", str(path), "--out", str(out), "--spot", "100", "--rate", "0.05"]) == 0  # auto: XYZ
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert {"american_mid", "mid", "iv_mid"} <= set(table.columns)
    # the premium comes off, up to the chain grid's accuracy (~1e-5 of max(price, 1e-3 K)) with a margin
    assert (table["american_mid"] >= table["mid"] - 1e-4 * np.maximum(table["mid"], 0.1)).all()
    assert (table["american_mid"] > table["mid"] * (1 + 1e-3)).any()
    assert "de-Americanised" in capsys.readouterr().err


def test_cli_fit_passes_the_rate_to_the_chain(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    import ivfast.workflow

    seen = {}

    def record(*args, **kwargs):  # stands in for the (minutes-long) fit: the options are what is tested
        seen.update(kwargs["chain_options"])
        raise ValueError("recorded")

    monkeypatch.setattr(ivfast.workflow, "fit_chain", record)
    path = tmp_path / "chain.csv"
    _american_chain().to_csv(path, index=False)
    base = ["fit", str(path), "--out", str(tmp_path / "o"), "-q"]
    assert cli.main([*base, "--rate", "0.05", "--exercise", "american"]) != 0
    assert seen["rate"] == 0.05 and seen["exercise"] == "american"
    assert cli.main(base) != 0 and seen["rate"] is None  # no --rate: the chain's parity rate
    capsys.readouterr()
    assert cli.main([*base, "--rate", "nan"]) != 0
    assert "--rate: expected a finite number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main([*base, "--rate", "two"])


def _compare(chains_dir, name, rate):
    path = chains_dir / name
    before = ivfast.chain.analyze_chain(path, exercise="european", rate=rate)
    after = ivfast.chain.analyze_chain(path, exercise="american", rate=rate)
    return before, after


@pytest.mark.slow
@pytest.mark.parametrize(("name", "rate"), [("spy_2025-09-25_cboe.csv", None), ("aapl_2019-08-23_cboe.csv", 0.02)])
@pytest.mark.filterwarnings("ignore::ivfast.chain.AmericanExerciseWarning")
def test_real_american_chains(chains_dir, name, rate):
    # AAPL's rate is the 2019-08-23 Treasury-bill level (~2 %): the chain alone pins it poorly.
    before, after = _compare(chains_dir, name, rate)
    fw = after.forwards
    # Every expiry has its own discount factor, and none above 1 (no tolerance: the rates are
    # positive, a factor above 1 is a parity bias, not rounding).
    assert np.isfinite(fw["discount_slice"]).all()
    assert (fw["discount_slice"] <= 1).all() and (fw["discount"] <= 1).all()
    assert (before.forwards["discount_slice"] > 1).any()  # treated as European, the bias shows
    # Most expiries keep their own parity slope; the rest (thin or stale, see slope_identified)
    # take the conversion's discount.
    assert (fw["method"] == "parity").mean() >= 0.5
    gap_b, gap_a = put_call_gap(before.quotes), put_call_gap(after.quotes)
    weighted = [float((g["median_abs_gap"] * g["n"]).sum() / g["n"].sum()) for g in (gap_b, gap_a)]
    assert weighted[1] < weighted[0]
