"""Acceptance of the chain pipeline on synthetic chains with a known forward, discount and vol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ivfast
from ivfast import chain, datasets

STRIKES = np.r_[np.arange(40.0, 90.0, 5.0), np.arange(90.0, 110.0, 1.0), np.arange(110.0, 251.0, 5.0)]
TAUS = [0.02, 0.1, 0.25, 0.5, 1.0, 2.0]
ALL_KINDS = list(datasets.PLANTED_QUOTE_KINDS + datasets.PLANTED_SLICE_KINDS)
SPOT, RATE, DIVIDEND = 100.0, 0.03, 0.01


def _truth(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["tau"] > 0].groupby("tau")[["forward", "discount"]].first()


def _relative_errors(result, frame) -> tuple[np.ndarray, np.ndarray]:
    fw = result.forwards[result.forwards["method"] != "none"]
    truth = _truth(frame).reindex(fw["tau"])
    return (np.abs(fw["forward"].to_numpy() / truth["forward"].to_numpy() - 1),
            np.abs(fw["discount"].to_numpy() / truth["discount"].to_numpy() - 1))


@pytest.fixture(scope="module")
def clean():
    frame = datasets.synthetic_chain(0.2, TAUS, STRIKES, SPOT, RATE, DIVIDEND, spread=0, tick=0)
    return frame, chain.prepare_quotes(frame, as_of=frame.attrs["as_of"])


@pytest.fixture(scope="module", params=[0, 1, 2])
def noisy(request):
    frame = datasets.synthetic_chain(0.2, TAUS, STRIKES, SPOT, RATE, DIVIDEND, spread=0.01, tick=0.01, missing=0.1,
                                     bad_quotes=ALL_KINDS, seed=request.param)
    return frame, chain.prepare_quotes(frame, as_of=frame.attrs["as_of"])


def test_clean_chain_recovers_forward_and_discount(clean):
    frame, result = clean
    ef, ed = _relative_errors(result, frame)
    assert len(ef) == len(TAUS)
    # Exact quotes satisfy parity to rounding; the acceptance bound is 1e-6, we get ~1e-15.
    assert ef.max() < 1e-12 and ed.max() < 1e-12


def test_clean_mid_vols_match_the_model_and_are_bracketed(clean):
    frame, result = clean
    truth = frame.drop_duplicates(["tau", "strike"]).set_index(["tau", "strike"])["true_iv"]
    q = result.to_frame()
    expected = truth.reindex(pd.MultiIndex.from_arrays([q["tau"], q["strike"]])).to_numpy()
    # Acceptance: 1e-8; Let's Be Rational is accurate to ~1e-14 on these well-conditioned quotes
    # and the parity forward is exact, so 1e-8 has six digits of margin.
    assert np.abs(q["iv_mid"].to_numpy() - expected).max() < 1e-8
    assert (q["iv_bid"] <= q["iv_mid"]).all() and (q["iv_mid"] <= q["iv_ask"]).all()
    # Exact quotes drop only deep in-the-money legs whose time value rounds away.
    assert set(result.dropped["reason"]) <= {"below_intrinsic", "at_intrinsic"}
    k = np.log(result.dropped["strike"] / SPOT)
    itm = np.where(result.dropped["type"] == "call", k < 0, k > 0)
    assert itm.all()


def test_noisy_chain_recovers_forward_and_discount(noisy):
    frame, result = noisy
    ef, ed = _relative_errors(result, frame)
    assert len(ef) == len(TAUS)  # the expired and the 3-strike expiries get no forward
    # Acceptance bound 1e-4 with 1-vol-point spreads, 1-cent ticks and planted bad quotes
    # (measured: forward <= 1.3e-5, discount <= 4e-6 with rates pooled across expiries).
    assert ef.max() < 1e-4 and ed.max() < 1e-4


def test_every_planted_quote_is_dropped_with_its_reason(noisy):
    frame, result = noisy
    planted = frame[frame["bad_reason"] != ""]
    dropped = result.dropped.set_index("row")["reason"]
    assert set(planted.index) <= set(dropped.index)
    assert (dropped.reindex(planted.index).to_numpy() == planted["bad_reason"].to_numpy()).all()


def test_no_good_quote_is_dropped_without_cause(noisy):
    frame, result = noisy
    good = frame[frame["bad_reason"] == ""]
    dropped = result.dropped.set_index("row")
    lost = good.index.intersection(dropped.index)
    reasons = dropped.loc[lost, "reason"]
    assert set(reasons) <= {"zero_bid", "below_intrinsic", "at_intrinsic"}
    zero = lost[reasons == "zero_bid"]
    assert (good.loc[zero, "bid"] == 0).all()  # bids the tick grid rounded to 0
    below = good.loc[lost[reasons != "zero_bid"]]
    sign = np.where(below["type"] == "call", 1.0, -1.0)
    intrinsic = below["discount"] * np.maximum(sign * (below["forward"] - below["strike"]), 0.0)
    mid = (below["bid"] + below["ask"]) / 2
    # Deep in-the-money mids within a tick of the true intrinsic value have no time value left
    # to invert; the 1e-4 * F slack covers the estimated forward's error.
    assert (mid <= intrinsic + 0.01 + 1e-4 * below["forward"]).all()


def test_noisy_bid_ask_vols_bracket_mid_and_weights_are_normalised(noisy):
    _, result = noisy
    q = result.to_frame()
    both = q["iv_bid"].notna() & q["iv_ask"].notna()
    assert both.mean() > 0.95
    assert (q.loc[both, "iv_bid"] <= q.loc[both, "iv_mid"]).all()
    assert (q.loc[both, "iv_mid"] <= q.loc[both, "iv_ask"]).all()
    assert np.isclose(result.weights.mean(), 1.0) and (result.weights > 0).all()


def test_tau_column_and_expiry_dates_agree():
    frame = datasets.synthetic_chain(0.2, TAUS[:3], STRIKES, spread=0.01, tick=0.01, seed=5)
    from_dates = chain.prepare_quotes(frame.drop(columns="tau"), as_of=frame.attrs["as_of"])
    from_tau = chain.prepare_quotes(frame)
    pd.testing.assert_frame_equal(from_dates.forwards, from_tau.forwards)


def _without_puts(frame: pd.DataFrame, tau: float, keep: int) -> pd.DataFrame:
    """Drop the puts of one expiry except ``keep`` near the money (too few parity pairs)."""
    puts = frame[(frame["tau"] == tau) & (frame["type"] == "put")]
    spare = puts.iloc[(np.abs(puts["strike"] - SPOT)).argsort()[:keep]].index
    return frame.drop(puts.index.difference(spare))


def test_curves_and_fixed_discount_fallbacks():
    frame = datasets.synthetic_chain(0.2, TAUS[:3], STRIKES, SPOT, RATE, DIVIDEND, spread=0, tick=0)
    taus = np.sort(frame["tau"].unique())
    thin = _without_puts(_without_puts(frame, taus[0], 0), taus[1], 2)
    result = chain.analyze_chain(thin, spot=SPOT, rate=RATE, dividend=DIVIDEND)
    fw = result.forwards.set_index("tau")
    assert fw.loc[taus[0], "method"] == "curves" and fw.loc[taus[1], "method"] == "parity_fixed_discount"
    truth = _truth(frame)
    for tau in taus[:2]:
        # Curves reproduce F = S exp((r - q) tau) exactly; two exact pairs give F to rounding.
        assert fw.loc[tau, "forward"] == pytest.approx(truth.loc[tau, "forward"], rel=1e-12)
        assert fw.loc[tau, "discount"] == pytest.approx(truth.loc[tau, "discount"], rel=1e-12)
    without = chain.analyze_chain(thin)
    reasons = without.quotes.loc[without.quotes["tau"] == taus[0], "reason"]
    assert (reasons[reasons != ""].isin(["no_forward", "below_intrinsic", "at_intrinsic"])).all()
    assert (reasons == "no_forward").sum() > 10


def test_per_expiry_discounts_are_kept_alongside_pooled_ones(noisy):
    frame, result = noisy
    fw = result.forwards[result.forwards["method"] == "parity"]
    truth = _truth(frame).reindex(fw["tau"])["discount"].to_numpy()
    per_expiry = np.abs(fw["discount_slice"].to_numpy() / truth - 1)
    assert per_expiry.max() < 5e-3  # unpooled slopes are noisier (short expiries ~1e-3)
    assert np.all(fw["discount_se"] > 0)


def test_bates_chain_end_to_end():
    params = ivfast.BatesParams(v0=0.01, kappa=0.5, theta=0.0625, sigma=1.0, rho=-0.75, lam=0.2, beta=-0.03,
                                alpha=0.7)  # the seed's reference model
    frame = datasets.synthetic_chain(params, TAUS[1:], STRIKES, SPOT, RATE, DIVIDEND, spread=0, tick=0)
    result = chain.prepare_quotes(frame)
    ef, ed = _relative_errors(result, frame)
    # FFT prices carry ~1e-11 absolute error, so parity holds to ~1e-13 relative.
    assert len(ef) == len(TAUS) - 1 and ef.max() < 1e-10 and ed.max() < 1e-10
    truth = frame.drop_duplicates(["tau", "strike"]).set_index(["tau", "strike"])["true_iv"]
    q = result.to_frame()
    expected = truth.reindex(pd.MultiIndex.from_arrays([q["tau"], q["strike"]])).to_numpy()
    # Acceptance 1e-8. Far wings where the price error ~1e-11 over vega exceeds 1e-8 are
    # excluded: |k| / sqrt(tau) <= 1 keeps vega/price large enough.
    core = (np.abs(q["k"]) <= np.sqrt(q["tau"])).to_numpy()
    assert core.sum() > 50
    assert np.abs(q["iv_mid"].to_numpy()[core] - expected[core]).max() < 1e-8
    noisy = datasets.synthetic_chain(params, TAUS, STRIKES, SPOT, RATE, DIVIDEND, spread=0.01, tick=0.01,
                                     missing=0.1, bad_quotes=ALL_KINDS, seed=9)
    ef, ed = _relative_errors(chain.prepare_quotes(noisy), noisy)
    assert ef.max() < 1e-4 and ed.max() < 1e-4  # acceptance bound with spreads, ticks, bad quotes
