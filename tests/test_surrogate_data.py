"""Surrogate training data and PCA (NumPy side of ivfast.surrogate; no torch needed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ivfast
from ivfast import surrogate
from ivfast.surrogate import data as sdata

# A small grid keeps each dataset call well under a second (about 3 ms per Heston set on 1 thread).
STRIKES = np.array([0.7, 0.85, 1.0, 1.15, 1.3])
TAUS = np.array([0.25, 0.5, 1.0, 2.0])


def _make(n=48, seed=3, **kw):
    kw.setdefault("chunk_size", 16)
    return surrogate.make_dataset("heston", n, None, STRIKES, TAUS, seed, 1, progress=False, **kw)


def test_import_ivfast_surrogate_stays_torch_free():
    # The data side must work without the optional torch extra (fresh interpreter: the test
    # session itself may have imported torch already).
    import subprocess

    code = "import sys, ivfast, ivfast.surrogate; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_same_seed_same_arrays_and_other_seed_differs():
    a, b, c = _make(seed=3), _make(seed=3), _make(seed=4)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.iv, b.iv)
    assert a.params.shape != c.params.shape or not np.array_equal(a.params, c.params)


def test_lhs_design_is_reproducible_and_inside_the_box():
    a, b = _make(design="lhs"), _make(design="lhs")
    np.testing.assert_array_equal(a.iv, b.iv)
    lo, hi = (np.array([r[j] for r in a.ranges.values()]) for j in (0, 1))
    assert ((a.params >= lo) & (a.params <= hi)).all()


def test_counts_and_every_kept_vol_finite():
    ds = _make()
    assert len(ds) + ds.n_dropped == ds.n_sampled == 48
    assert ds.iv.shape == (len(ds), TAUS.size, STRIKES.size)
    assert np.isfinite(ds.iv).all() and (ds.iv > 0).all()
    assert ds.samples_per_second > 0


def test_vols_match_the_otm_surface_inversion_and_quantlib():
    import QuantLib as ql
    ds = _make(n=8)
    # The dataset inverts puts obtained by parity from FFT calls; implied_vol_surface prices the
    # OTM side directly. Both use a 1e-14 price accuracy, vegas here are >= 1e-3: 1e-9 in vol.
    for p, iv in zip(ds.params[:3], ds.iv[:3]):
        direct = ivfast.implied_vol_surface(ivfast.HestonParams(*p), STRIKES, TAUS, tolerance=1e-14)
        np.testing.assert_allclose(iv, direct, rtol=0, atol=1e-9)
    # Independent reference: QuantLib's analytic Heston engine (Gauss-Laguerre, 192 nodes).
    p = ds.params[0]
    today = ql.Date(2, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    flat = ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc))
    process = ql.HestonProcess(flat, flat, ql.QuoteHandle(ql.SimpleQuote(1.0)), *map(float, p))
    engine = ql.AnalyticHestonEngine(ql.HestonModel(process), 192)
    tau = 1.0  # 365 days under ACT/365
    for j, k in enumerate(STRIKES):
        option = ql.EuropeanOption(ql.PlainVanillaPayoff(ql.Option.Call, float(k)), ql.EuropeanExercise(today + 365))
        option.setPricingEngine(engine)
        ref = ivfast.implied_vol(option.NPV(), 1.0, k, tau)
        # QuantLib's quadrature is good to about 1e-10 in price; vegas are >= 0.1 here.
        assert abs(ds.iv[0, 2, j] - ref) < 1e-7, (k, ds.iv[0, 2, j], ref)


def test_unrecoverable_wings_are_dropped_and_counted():
    # Variance 0.0004 (2 % vol) at strike 0.5 and 0.1 years is ~35 standard deviations out: the
    # put is far below the pricer's accuracy, so every sample must be dropped.
    tiny = {"v0": (0.0004, 0.0005), "theta": (0.0004, 0.0005), "sigma": (0.1, 0.11)}
    ds = surrogate.make_dataset("heston", 8, tiny, [0.5, 1.0, 1.5], [0.1, 0.5, 1.0], 0, 1, progress=False)
    assert len(ds) == 0 and ds.n_dropped == 8


def test_resumes_after_the_last_complete_chunk(tmp_path, monkeypatch):
    full = _make(path=tmp_path / "d")
    (tmp_path / "d" / "chunk_00002.npz").unlink()  # as if interrupted while pricing chunk 2
    calls = []
    original = sdata.price_to_iv

    def counting(params, *a, **k):
        calls.append(len(params))
        return original(params, *a, **k)

    monkeypatch.setattr(sdata, "price_to_iv", counting)
    resumed = _make(path=tmp_path / "d")
    assert calls == [16]  # only the missing chunk is priced again
    np.testing.assert_array_equal(resumed.iv, full.iv)
    loaded = surrogate.load_dataset(tmp_path / "d")
    np.testing.assert_array_equal(loaded.params, full.params)
    assert loaded.n_sampled == 48


def test_resume_with_other_settings_is_refused(tmp_path):
    _make(n=16, path=tmp_path / "d")
    with pytest.raises(ValueError, match="different settings.*seed"):
        _make(n=16, seed=9, path=tmp_path / "d")


@pytest.mark.parametrize("kwargs, match", [
    ({"model": "sabr"}, "model"), ({"ranges": {"nu": (0, 1)}}, "unknown field"),
    ({"ranges": {"rho": (-1.5, 0.0)}}, "rho"), ({"ranges": {"v0": (0.2, 0.1)}}, "v0"),
    ({"strikes": [1.0, 0.9, 1.1]}, "strikes"), ({"n": 0}, "n"), ({"design": "grid"}, "design"),
])
def test_malformed_arguments_raise(kwargs, match):
    args = {"model": "heston", "n": 4, "strikes": STRIKES, "taus": TAUS, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=match):
        surrogate.make_dataset(**args)


def test_split_is_a_disjoint_partition():
    tr, va, te = surrogate.split_indices(101, seed=5)
    assert (len(tr), len(va), len(te)) == (61, 20, 20)
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(101))


# ------------------------------------------------------------------------------------- PCA


@settings(max_examples=25, deadline=None)
@given(rank=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_pca_round_trip_of_low_rank_grids_is_exact(rank, seed):
    rng = np.random.default_rng(seed)
    y = 0.2 + rng.normal(size=(60, rank)) @ rng.normal(size=(rank, 20)) * 0.05
    pca = surrogate.fit_pca(y)
    # Rank-r data: r components carry all the variance; reconstruction is exact to rounding.
    assert pca.n_components == rank
    np.testing.assert_allclose(pca.inverse(pca.transform(y)), y, rtol=0, atol=1e-12)
    scores = pca.transform(y)
    np.testing.assert_allclose(scores.std(axis=0, ddof=1), 1.0, rtol=1e-9)  # standardised scores
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(rank), atol=1e-12)


def test_pca_keeps_the_asked_share_and_refuses_less_than_999():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(200, 30)) * np.geomspace(1, 1e-3, 30)
    for share in (0.999, 0.99999):
        pca = surrogate.fit_pca(y, share)
        assert pca.explained_total >= share
        assert pca.explained[:-1].sum() < share  # the fewest such components
    with pytest.raises(ValueError, match="variance"):
        surrogate.fit_pca(y, 0.99)
    with pytest.raises(ValueError, match="max_components"):
        surrogate.fit_pca(y, max_components=1)


def test_bates_dataset_has_eight_parameters_and_matches_the_direct_surface():
    ds = surrogate.make_dataset("bates", 8, None, STRIKES, TAUS, 2, 1, progress=False)
    assert ds.names == ["v0", "kappa", "theta", "sigma", "rho", "lam", "beta", "alpha"]
    assert ds.params.shape == (len(ds), 8) and len(ds) > 0
    direct = ivfast.implied_vol_surface(ivfast.BatesParams(*ds.params[0]), STRIKES, TAUS, tolerance=1e-14)
    np.testing.assert_allclose(ds.iv[0], direct, rtol=0, atol=1e-9)  # as for Heston above
