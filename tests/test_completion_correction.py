"""The certified spline correction of a completed surface (complete_surface(..., correct=True))."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("clarabel")

import ivfast  # noqa: E402
from ivfast.completion import complete_surface  # noqa: E402
from ivfast.completion.corpus import synthetic_corpus  # noqa: E402
from ivfast.completion.surface import dense_grid  # noqa: E402
from ivfast.surface.correction import SplineCorrection  # noqa: E402

HELD_OUT_SEED = 1000
"""Synthetic surfaces of this seed are never in the training corpus (seed 0)."""


@pytest.fixture(scope="module")
def corrected():
    s = synthetic_corpus(3, HELD_OUT_SEED)[1]
    return s, complete_surface(s.k, s.tau, s.iv), complete_surface(s.k, s.tau, s.iv, correct=True)


def test_spline_jet_matches_finite_differences():
    gen = torch.Generator().manual_seed(0)
    corr = SplineCorrection(torch.tensor([0.1, 0.4, 1.0]), torch.tensor([0.06, 0.12, 0.2]), -3.0, 0.5,
                            0.1 * torch.randn(3, 14, generator=gen, dtype=torch.float64))
    k = torch.linspace(-0.5, 0.3, 41, dtype=torch.float64)
    for t in (0.05, 0.2, 0.7, 1.5):  # before, inside, after the nodes
        tau = torch.full_like(k, t)
        v, v_k, v_kk, v_t = corr(k, tau)
        h = 1e-5
        fd = lambda dk, dt: corr(k + dk, tau + dt)[0]  # noqa: E731
        # Central differences: truncation h^2 |v'''| with |v'''| up to 0.1 / (0.5 * 0.06)^3 ~ 4e3
        # (4e-7 for v_k); for v_kk the third derivative jumps at knots, so h |jump| ~ 4e-2 against
        # values of order 1e2. A wrong chain-rule factor is off by O(1) relative.
        torch.testing.assert_close(v_k, (fd(h, 0) - fd(-h, 0)) / (2 * h), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(v_kk, (fd(h, 0) - 2 * v + fd(-h, 0)) / h**2, rtol=1e-3, atol=5e-2)
        torch.testing.assert_close(v_t, (fd(0, h) - fd(0, -h)) / (2 * h), rtol=1e-6, atol=1e-6)
    # Beyond the splines h levels off at the end coefficients (far left and right at node 1), flat in k.
    far = corr(torch.tensor([-5.0, -4.0, 4.0, 5.0], dtype=torch.float64), corr.log_tau[1].exp().expand(4))
    end = torch.exp(corr.coef[1, [0, 0, -1, -1]])
    torch.testing.assert_close(far[0], end, rtol=1e-15, atol=0.0)
    # The B-splines' derivatives sum to 0 there: rounding (~1e-17 of the summed weights) only.
    assert float(far[1].abs().max()) < 1e-15 and float(far[2].abs().max()) < 1e-14


def test_correction_fits_the_quotes_better_and_stays_certified(corrected):
    s, plain, fixed = corrected
    from ivfast.arbitrage import DEFAULT_K, DEFAULT_TAU
    from ivfast.completion.correction import STOP

    assert fixed.check().ok() and fixed.check(*dense_grid(s.k, s.tau)).ok() and fixed.check(DEFAULT_K, DEFAULT_TAU).ok()
    info = fixed.info["correction"]
    # min_g and min_calendar are the grid's values less their estimated dips between points.
    assert info["factor"] == 1.0 and info["min_g"] >= -STOP and info["min_calendar"] >= -STOP
    err = lambda surf: np.sqrt(np.mean((surf.implied_vol(s.k, s.tau) - s.iv) ** 2))  # noqa: E731
    # The SSVI leaves the Heston/Bates smile's shape; the spline factor must take most of it.
    assert err(fixed) < 0.5 * err(plain)
    assert np.sqrt(np.mean((fixed.implied_vol(s.k, s.tau) - s.target) ** 2)) < err(plain)


def test_corrected_surface_saves_loads_and_exports(corrected, tmp_path):
    s, _, fixed = corrected
    fixed.save(tmp_path / "c.pt")
    loaded = ivfast.FittedSurface.load(tmp_path / "c.pt")
    np.testing.assert_allclose(loaded.total_variance(s.k, s.tau), fixed.total_variance(s.k, s.tau), rtol=1e-14)
    exported = ivfast.load_exported(fixed.export(tmp_path / "c_ts.pt"))
    k, tau = torch.tensor(s.k), torch.tensor(s.tau)
    np.testing.assert_allclose(exported(k, tau).numpy(), fixed.total_variance(s.k, s.tau), rtol=1e-12)


def test_training_from_a_corrected_surface_keeps_its_factor(corrected):
    from ivfast.surface import SmoothingConfig

    s, _, fixed = corrected
    config = SmoothingConfig(hidden_layers=(8, 8), max_epochs=2, log_every=1, progress=False, check_every=1000)
    fit = ivfast.fit_surface(s.k, s.tau, s.iv, config=config, init=fixed)
    # Same quotes: the network trains on top of the completion's fixed spline factor. Without
    # bid-ask vols the start is kept only if the trained certificate failed.
    assert fit.info["warm_start"] and fit.model.network is not None
    assert torch.equal(fit.model.correction.coef, fixed.model.correction.coef)
    assert fit.info["returned_start"] is (not fit.certificate.ok())


def _bid_ask(s, widen=1.0):
    """Bid and ask vols around the quoted mids (a ``widen`` share of the sample's half-spreads)."""
    return s.iv - widen * s.half_spread, s.iv + widen * s.half_spread


def test_a_corrected_start_that_meets_the_targets_is_the_result(corrected, tmp_path):
    from ivfast.surface import FittedSurface, SmoothingConfig

    s, _, fixed = corrected
    bid, ask = _bid_ask(s)
    inside = np.mean((fixed.implied_vol(s.k, s.tau) >= bid) & (fixed.implied_vol(s.k, s.tau) <= ask))
    config = SmoothingConfig(hidden_layers=(8, 8), max_epochs=50, progress=False, target_inside=0.9 * inside,
                             target_expiry_inside=0.0)
    fit = ivfast.fit_surface(s.k, s.tau, s.iv, iv_bid=bid, iv_ask=ask, config=config, init=fixed)
    assert fit.info["stop_reason"] == "start" and fit.info["epochs"] == 0 and fit.info["returned_start"]
    assert fit.certificate.ok() and fit.info["inside_bid_ask"] == pytest.approx(inside)
    np.testing.assert_array_equal(fit.total_variance(s.k, s.tau), fixed.total_variance(s.k, s.tau))
    fit.save(tmp_path / "start.pt")  # no network in the state although the config has one
    loaded = FittedSurface.load(tmp_path / "start.pt")
    assert loaded.model.network is None
    np.testing.assert_array_equal(loaded.total_variance(s.k, s.tau), fixed.total_variance(s.k, s.tau))


def test_a_fit_that_ends_worse_than_its_certified_start_returns_the_start(corrected):
    from ivfast.surface import SmoothingConfig

    s, _, fixed = corrected
    bid, ask = _bid_ask(s, 0.3)  # narrow: the start misses some, and so does training
    # Two epochs from a network only centred near 1 (within a few per cent) cannot do better.
    config = SmoothingConfig(hidden_layers=(8, 8), max_epochs=2, progress=False, target_inside=1.0,
                             quote_warmup=0.0)
    fit = ivfast.fit_surface(s.k, s.tau, s.iv, iv_bid=bid, iv_ask=ask, config=config, init=fixed)
    assert fit.info["stop_reason"] == "max_epochs" and fit.info["returned_start"]
    assert fit.model.network is None and fit.certificate.ok()
    np.testing.assert_array_equal(fit.total_variance(s.k, s.tau), fixed.total_variance(s.k, s.tau))


def test_fine_tune_chain_random_half_is_recovered_and_certified(chains_dir):
    """SPX 2020-03-20 (a fine-tuning chain; the correction's penalties were chosen on it)."""
    from ivfast.completion.chains import chain_sample

    s = chain_sample(chains_dir / "spx_2020-03-20_cboe.csv")
    seen = np.random.default_rng(0).random(s.k.size) >= 0.5
    surface = complete_surface(s.k[seen], s.tau[seen], s.iv[seen], correct=True)
    assert surface.check().ok() and surface.check(*dense_grid(s.k, s.tau)).ok()
    # ivfast check's default grid: k in [-1.5, 1.5] and tau to 3 years, far beyond the quotes
    # (the factor levels off in k and fades out in tau there).
    assert surface.check(np.linspace(-1.5, 1.5, 201), np.geomspace(1 / 52, 3.0, 100)).ok()
    err = np.abs(surface.implied_vol(s.k[~seen], s.tau[~seen]) - s.iv[~seen])
    # Measured 0.20 % median APE and 98 % inside bid-ask; the SSVI alone gives 4.7 % and 29 %.
    assert np.median(err / s.iv[~seen]) < 0.005
    assert np.mean(err <= s.half_spread[~seen]) > 0.9


@pytest.mark.parametrize("k,tau,iv,name", [([], [], [], "k"), ([0.0, np.nan, 0.1], [0.1] * 3, [0.2] * 3, "k"),
                                          ([0.0, 0.1, 0.2], [0.1, 0.0, 0.1], [0.2] * 3, "tau"),
                                          ([0.0, 0.1, 0.2], [0.1] * 3, [0.2, -0.2, 0.2], "iv"),
                                          ([0.0, 0.1, 0.2], [0.1] * 2, [0.2] * 3, "tau")])
def test_bad_input_to_the_corrected_completion_is_named(k, tau, iv, name):
    with pytest.raises(ValueError, match=name):
        complete_surface(k, tau, iv, correct=True)
