"""ivfast.datasets.synthetic_chain: prices, quote shapes and the planted bad quotes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ivfast
from ivfast import datasets

import QuantLib as ql  # noqa: E402

STRIKES = np.r_[np.arange(40.0, 90.0, 5.0), np.arange(90.0, 110.0, 1.0), np.arange(110.0, 251.0, 5.0)]
TAUS = [0.02, 0.1, 0.25, 1.0, 2.0]
ALL_KINDS = list(datasets.PLANTED_QUOTE_KINDS + datasets.PLANTED_SLICE_KINDS)


def _intrinsic(frame: pd.DataFrame) -> np.ndarray:
    sign = np.where(frame["type"] == "call", 1.0, -1.0)
    return frame["discount"] * np.maximum(sign * (frame["forward"] - frame["strike"]), 0.0)


def test_flat_vol_prices_match_quantlib_black_formula():
    chain = datasets.synthetic_chain(0.25, TAUS, STRIKES, spot=100.0, rate=0.04, dividend=0.015, spread=0, tick=0)
    for row in chain.sample(60, random_state=3).itertuples():
        option = ql.Option.Call if row.type == "call" else ql.Option.Put
        forward = 100.0 * np.exp((0.04 - 0.015) * row.tau)
        ref = ql.blackFormula(option, row.strike, forward, 0.25 * np.sqrt(row.tau), np.exp(-0.04 * row.tau))
        # Both are closed forms in double precision; 1e-12 relative (+1e-14 absolute for
        # prices that underflow towards 0) leaves room for erfc-vs-N implementations only.
        assert row.model_price == pytest.approx(ref, rel=1e-12, abs=1e-14)
    assert np.allclose(chain["true_iv"].dropna(), 0.25, rtol=0, atol=1e-12)  # inversion of exact prices


def test_quotes_bracket_the_model_price_on_the_tick_grid():
    tick = 0.05
    chain = datasets.synthetic_chain(0.2, TAUS, STRIKES, spread=0.02, tick=tick, seed=1)
    assert (chain["bad_reason"] == "").all()
    assert (chain["bid"] <= chain["model_price"]).all() and (chain["model_price"] <= chain["ask"]).all()
    for side in ("bid", "ask"):
        units = chain[side] / tick
        assert np.allclose(units, np.round(units), rtol=0, atol=1e-6)  # on the grid up to float rounding
    assert (chain["ask"] - chain["bid"] >= tick - 1e-12).all()


def _vol_spread(chain: pd.DataFrame) -> pd.Series:
    is_call = chain["type"] == "call"
    args = dict(is_call=is_call.to_numpy(), discount=chain["discount"].to_numpy())
    ivb = ivfast.implied_vol(chain["bid"], chain["forward"], chain["strike"], chain["tau"], **args)
    iva = ivfast.implied_vol(chain["ask"], chain["forward"], chain["strike"], chain["tau"], **args)
    return pd.Series(iva - ivb, index=chain.index)


def test_vol_spreads_widen_in_the_wings_and_at_short_expiries():
    # A tiny tick so that the vol spread, not the price grid, sets the width.
    chain = datasets.synthetic_chain(0.2, [0.02, 0.25, 1.0], STRIKES, spread=0.01, tick=1e-6)
    k = np.log(chain["strike"] / chain["forward"])
    otm = np.where(chain["type"] == "call", k > 0, k < 0)
    spread = _vol_spread(chain)
    for tau in chain["tau"].unique()[1:]:  # a 1-week smile has no two-sided wing quotes at 0.7 sd+
        sel = otm & (chain["tau"] == tau)
        z = np.abs(k[sel]) / np.sqrt(tau)
        wing = spread[sel][(z > 0.7) & (z < 2.0)].dropna()  # beyond ~2 sd the bid rounds to 0
        assert len(wing) >= 4
        assert wing.median() > spread[sel][z < 0.2].median()
    atm = otm & (np.abs(k) < 0.03)
    assert spread[atm & (chain["tau"] < 0.1)].median() > spread[atm & (chain["tau"] > 0.5)].median()


def test_missing_removes_whole_strikes():
    chain = datasets.synthetic_chain(0.2, TAUS, STRIKES, missing=0.3, seed=4)
    per_strike = chain.groupby(["tau", "strike"])["type"].nunique()
    assert (per_strike == 2).all()  # a listed strike has both the call and the put
    listed = len(per_strike) / (len(TAUS) * len(STRIKES))
    assert 0.6 < listed < 0.8  # 70 % expected; 310 Bernoulli draws -> sd 2.6 %


def test_every_planted_quote_is_recorded_and_really_bad():
    chain = datasets.synthetic_chain(0.2, TAUS, STRIKES, bad_quotes=ALL_KINDS, seed=2)
    bad = chain[chain["bad_reason"] != ""]
    assert set(bad["bad_reason"]) == set(ALL_KINDS)
    one = {kind: bad[bad["bad_reason"] == kind] for kind in ALL_KINDS}
    for kind in datasets.PLANTED_QUOTE_KINDS:
        assert len(one[kind]) == 1, kind
    assert (one["zero_bid"]["bid"] == 0).all()
    assert (one["crossed"]["bid"] > one["crossed"]["ask"]).all()
    assert (one["locked"]["bid"] == one["locked"]["ask"]).all()
    mid = (bad["bid"] + bad["ask"]) / 2
    sel = bad["bad_reason"] == "below_intrinsic"
    assert (mid[sel] < _intrinsic(bad)[sel]).all()
    sel = bad["bad_reason"] == "above_upper_bound"
    bound = bad["discount"] * np.where(bad["type"] == "call", bad["forward"], bad["strike"])
    assert (mid[sel] > bound[sel]).all()
    dup = one["duplicate"].iloc[0]
    same = chain[(chain["tau"] == dup["tau"]) & (chain["strike"] == dup["strike"]) & (chain["type"] == dup["type"])]
    assert len(same) == 2 and (same["ask"] - same["bid"]).idxmax() == one["duplicate"].index[0]
    assert (one["expired"]["tau"] <= 0).all()
    assert one["too_few_strikes"]["strike"].nunique() == 3


def test_seed_makes_it_reproducible_and_count_cycles_kinds():
    a = datasets.synthetic_chain(0.2, TAUS, STRIKES, missing=0.2, bad_quotes=8, seed=7)
    b = datasets.synthetic_chain(0.2, TAUS, STRIKES, missing=0.2, bad_quotes=8, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["bad_reason"]) - {""} == set(ALL_KINDS)


@pytest.mark.parametrize("kwargs, name", [
    (dict(params=-0.2), "params"), (dict(expiries=[]), "expiries"), (dict(strikes=[-1.0, 2.0]), "strikes"),
    (dict(missing=1.0), "missing"), (dict(bad_quotes=["nonsense"]), "bad_quotes"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    args = dict(params=0.2, expiries=TAUS, strikes=STRIKES) | kwargs
    with pytest.raises(ValueError, match=name):
        datasets.synthetic_chain(**args)


BATES = dict(v0=0.01, kappa=0.5, theta=0.0625, sigma=1.0, rho=-0.75, lam=0.2, beta=-0.03, alpha=0.7)  # seed 000


def test_bates_chain_obeys_parity_and_inverts():
    chain = datasets.synthetic_chain(ivfast.BatesParams(**BATES), [0.1, 0.5, 1.0], STRIKES, spread=0, tick=0)
    calls = chain[chain["type"] == "call"].set_index(["tau", "strike"])
    puts = chain[chain["type"] == "put"].set_index(["tau", "strike"])
    strikes = calls.index.get_level_values(1)
    gap = calls["model_price"] - puts["model_price"] - calls["discount"] * (calls["forward"] - strikes)
    # The pricer's target is 1e-13 absolute per unit of discounted forward: ~1e-11 on spot 100.
    assert np.abs(gap).max() < 1e-10
    assert chain["true_iv"].notna().mean() > 0.9
    skew = calls.loc[1.0, "true_iv"]
    assert skew.loc[80.0] > skew.loc[100.0]  # rho < 0 and negative jumps lift the put wing


def test_other_params_objects_are_rejected():
    with pytest.raises(ValueError, match="params"):
        datasets.synthetic_chain({"vol": 0.2}, TAUS, STRIKES)
