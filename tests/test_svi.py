"""SVI slices: parameterisations, conversions, derivatives, g(k), slice fits, SviSurface, resampling.

References: Gatheral & Jacquier (2014) "Arbitrage-free SVI volatility surfaces" (GJ) for the
formulas and the Axel Vogt example; mpmath at 40 digits for derivatives; exact SVI data for fits.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from ivfast import svi
from ivfast.protocols import DifferentiableSurface

VOGT = svi.RawSVI(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)  # GJ 2014 section 5.2, tau = 1


def _raw(p):
    return np.array([p.a, p.b, p.rho, p.m, p.sigma])


@st.composite
def raw_params(draw):
    b = draw(st.floats(0.01, 1.5))
    rho = draw(st.floats(-0.95, 0.95))
    m = draw(st.floats(-0.5, 0.5))
    sigma = draw(st.floats(0.02, 1.0))
    min_w = draw(st.floats(1e-4, 0.3))  # w(0) > 0: jump-wings are normalised by it
    return svi.RawSVI(a=min_w - b * sigma * np.sqrt(1 - rho**2), b=b, rho=rho, m=m, sigma=sigma)


def _random_raw(rng):
    """A valid slice with wings inside Lee's bound b(1 + |rho|) <= 2 (what fit_slice assumes)."""
    rho = rng.uniform(-0.9, 0.9)
    b = min(rng.uniform(0.05, 0.8), 1.9 / (1 + abs(rho)))
    sigma, m = rng.uniform(0.05, 0.6), rng.uniform(-0.3, 0.3)
    a = rng.uniform(0.005, 0.1) - b * sigma * np.sqrt(1 - rho**2) * rng.uniform(0.0, 1.0)
    return svi.RawSVI(a=a, b=b, rho=rho, m=m, sigma=sigma)


# ---------------------------------------------------------------- parameterisations


@settings(max_examples=300, deadline=None)
@given(raw_params(), st.floats(0.01, 5.0))
# The vertex at the money: min_k w and w(0) agree to rounding, and v~ must not come out above v.
@example(svi.RawSVI(a=0.04846191406250411, b=0.203125, rho=2.0199313088987388e-07, m=2.0199313088987388e-07,
                    sigma=0.9921875), 1.0)
def test_round_trips_raw_natural_jw(raw, tau):
    # 1e-12: each conversion is a handful of flops on O(1) numbers. The jump-wings inverse
    # recovers sqrt(m^2 + sigma^2) from (v - v~) / (rho - beta)^2, beta = m / sqrt(m^2 + sigma^2),
    # so it loses digits as v -> v~ and rho -> beta (both mean psi -> 0, the degenerate case
    # where sigma is undetermined); the assumes keep that loss below ~2.5 digits.
    jw = svi.raw_to_jw(raw, tau)
    assume(jw.v - jw.v_tilde >= 1e-2 * jw.v)
    assume(abs(raw.rho - raw.m / np.hypot(raw.m, raw.sigma)) >= 0.05)
    scale = np.array([abs(raw.a) + raw.b * raw.sigma, raw.b, 1.0, 1.0, raw.sigma])
    back_nat = raw.to_natural().to_raw()
    back_jw = svi.jw_to_raw(svi.raw_to_jw(raw, tau), tau)
    assert np.all(np.abs(_raw(back_nat) - _raw(raw)) <= 1e-12 * scale)
    assert np.all(np.abs(_raw(back_jw) - _raw(raw)) <= 1e-12 * np.maximum(scale, 1.0))
    nat = raw.to_natural()
    k = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(nat.total_variance(k), raw.total_variance(k), rtol=1e-12, atol=1e-14)


def test_jump_wings_published_meaning():
    # GJ section 3.3: v = w(0)/t, psi = w'(0)/(2 sqrt(w(0))), p/c = wing slopes / sqrt(w(0)),
    # v~ = min w / t; checked against a finite-difference slope and a brute-force minimum.
    tau = 0.7
    jw = svi.raw_to_jw(VOGT, tau)
    w0 = float(VOGT.total_variance(0.0))
    h = 1e-6
    slope0 = (VOGT.total_variance(h) - VOGT.total_variance(-h)) / (2 * h)
    assert jw.v == pytest.approx(w0 / tau, rel=1e-14)
    assert jw.psi == pytest.approx(slope0 / (2 * np.sqrt(w0)), rel=1e-8)  # FD truncation ~h^2
    assert jw.p == pytest.approx(VOGT.b * (1 - VOGT.rho) / np.sqrt(w0), rel=1e-14)
    assert jw.c == pytest.approx(VOGT.b * (1 + VOGT.rho) / np.sqrt(w0), rel=1e-14)
    kk = np.linspace(-3, 3, 600001)
    assert jw.v_tilde == pytest.approx(VOGT.total_variance(kk).min() / tau, rel=1e-9)  # grid step 1e-5


def test_jw_to_raw_rejects_undetermined_sigma():
    # psi = 0 and v = v~: ATM is the minimum and sigma cannot be recovered.
    with pytest.raises(ValueError, match="psi"):
        svi.jw_to_raw(svi.JumpWings(v=0.04, psi=0.0, p=0.5, c=0.5, v_tilde=0.04), 1.0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(a=0.01, b=-0.1, rho=0.0, m=0.0, sigma=0.1), "b"),
        (dict(a=0.01, b=0.1, rho=1.0, m=0.0, sigma=0.1), "rho"),
        (dict(a=0.01, b=0.1, rho=0.0, m=0.0, sigma=0.0), "sigma"),
        (dict(a=-0.2, b=0.1, rho=0.0, m=0.0, sigma=0.1), "a"),
        (dict(a=np.nan, b=0.1, rho=0.0, m=0.0, sigma=0.1), "a"),
    ],
)
def test_raw_svi_domain(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        svi.RawSVI(**kwargs)


def test_derivatives_and_g_match_mpmath():
    # Closed forms vs 40-digit numerical differentiation of the defining formula: 1e-13 relative
    # (double rounding of O(10) flops).
    mp.mp.dps = 40
    r = VOGT

    def w(x):
        x = mp.mpf(x) - mp.mpf(r.m)
        return mp.mpf(r.a) + mp.mpf(r.b) * (mp.mpf(r.rho) * x + mp.sqrt(x * x + mp.mpf(r.sigma) ** 2))

    for k in (-2.0, -0.3, 0.0, 0.3586, 1.1, 4.0):
        w0, w1, w2 = (mp.diff(w, k, n) for n in (0, 1, 2))
        g_ref = (1 - k * w1 / (2 * w0)) ** 2 - w1**2 / 4 * (1 / w0 + mp.mpf(1) / 4) + w2 / 2
        got = r.derivatives(k)
        for value, ref in zip(got, (w0, w1, w2)):
            assert float(value) == pytest.approx(float(ref), rel=1e-13, abs=1e-15)
        assert float(r.g(k)) == pytest.approx(float(g_ref), rel=1e-12, abs=1e-14)


def test_vogt_slice_has_butterfly_arbitrage():
    # GJ section 5.2: the Vogt slice has g < 0 (around k ~ 0.9-1.1 in their Figure 2).
    k = np.linspace(-1.5, 1.5, 3001)
    g = VOGT.g(k)
    assert g.min() < -0.03
    assert 0.5 < k[np.argmin(g)] < 1.5


def test_arbitrage_free_fit_of_vogt_data():
    k = np.linspace(-1.5, 1.5, 41)
    w = VOGT.total_variance(k)
    plain = svi.fit_slice(k, w)
    assert plain.g(k).min() < 0  # the exact (arbitrageable) slice is the unconstrained optimum
    fit = svi.fit_slice(k, w, no_butterfly=True)
    g = fit.g(np.linspace(-7.5, 7.5, 30001))
    assert g.min() >= 0.0
    # GJ's arbitrage-free repair is close to the data: 5e-3 bounds the RMSE in w (ours ~2.3e-3).
    assert np.sqrt(np.mean((fit.total_variance(k) - w) ** 2)) < 5e-3


def test_arbitrage_free_fit_respects_a_tighter_wing_bound():
    # Right wing of the Vogt slice has slope b(1 + rho) = 0.174; cap it at 0.15.
    k = np.linspace(-1.5, 1.5, 21)
    fit = svi.fit_slice(k, VOGT.total_variance(k), no_butterfly=True, max_wing_slope=0.15)
    assert max(fit.wing_slopes) <= 0.15 * (1 + 1e-9)  # SLSQP feasibility tolerance ~1e-10
    assert fit.g(np.linspace(-7.5, 7.5, 30001)).min() >= 0.0


# ---------------------------------------------------------------- slice fits


def test_fit_recovers_exact_svi_from_100_random_starts():
    # 1e-6 on every parameter: the quasi-explicit search finds the basin and the trust-region
    # polish converges to machine precision (typical errors ~1e-15).
    rng = np.random.default_rng(20260101)
    k = np.linspace(-1.0, 1.0, 25)
    for _ in range(100):
        true = _random_raw(rng)
        x0 = (rng.uniform(-2, 2), np.exp(rng.uniform(np.log(1e-3), np.log(5.0))))
        fit = svi.fit_slice(k, true.total_variance(k), x0=x0)
        assert np.abs(_raw(fit) - _raw(true)).max() <= 1e-6, (true, x0, fit)


def test_noisy_fits_are_global_and_start_independent():
    # Noise 1e-4 in w. The true parameters are feasible, so a global least-squares fit has
    # SSE <= SSE(true); fits from different starts must agree on the optimum (1e-9 relative
    # on SSE covers the polish's convergence tolerance).
    rng = np.random.default_rng(7)
    k = np.linspace(-1.0, 1.0, 25)
    for _ in range(20):
        true = _random_raw(rng)
        w = true.total_variance(k) + rng.normal(0, 1e-4, k.size)
        positive = w > 0  # fit_slice takes total variances > 0
        k_ok, w_ok = k[positive], w[positive]
        sse_true = np.sum((true.total_variance(k_ok) - w_ok) ** 2)
        sses = []
        for _ in range(5):
            x0 = (rng.uniform(-2, 2), np.exp(rng.uniform(np.log(1e-3), np.log(5.0))))
            fit = svi.fit_slice(k_ok, w_ok, x0=x0)
            assert np.isfinite(_raw(fit)).all()
            sses.append(np.sum((fit.total_variance(k_ok) - w_ok) ** 2))
        assert max(sses) <= sse_true * (1 + 1e-9)
        assert max(sses) - min(sses) <= 1e-9 * min(sses)


def test_weights_ignore_an_outlier():
    true = _random_raw(np.random.default_rng(3))
    k = np.linspace(-1, 1, 21)
    w = true.total_variance(k)
    w[5] *= 1.5
    weights = np.ones_like(k)
    weights[5] = 0.0
    fit = svi.fit_slice(k, w, weights=weights)
    assert np.abs(_raw(fit) - _raw(true)).max() <= 1e-6  # same target as exact recovery


def test_fit_slice_vols_recovers_slice():
    true = _random_raw(np.random.default_rng(11))
    k, tau = np.linspace(-0.8, 0.8, 17), 0.5
    fit = svi.fit_slice_vols(k, true.implied_vol(k, tau), tau)
    assert np.abs(_raw(fit) - _raw(true)).max() <= 1e-6  # exact data, as above


@pytest.mark.parametrize(
    "args, kwargs, name",
    [
        (([0, 1, 2, 3], [0.1] * 5), {}, "w"),
        (([0, 1, 2, np.nan, 4], [0.1] * 5), {}, "k"),
        (([0, 1, 2, 3, 4], [0.1, 0.1, -0.1, 0.1, 0.1]), {}, "w"),
        (([0, 1, 2, 3], [0.1] * 4), {}, "k"),
        (([0, 1, 2, 3, 4], [0.1] * 5), {"weights": [1, 1, 1, 1]}, "weights"),
        (([0, 1, 2, 3, 4], [0.1] * 5), {"weights": [-1, 1, 1, 1, 1]}, "weights"),
        (([0, 1, 2, 3, 4], [0.1] * 5), {"max_wing_slope": 0.0}, "max_wing_slope"),
        (([0, 1, 2, 3, 4], [0.1] * 5), {"x0": (0.0, -1.0)}, "x0"),
    ],
)
def test_fit_slice_validates_inputs(args, kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        svi.fit_slice(*args, **kwargs)


def test_fit_slice_vols_validates_tau():
    with pytest.raises(ValueError, match="^tau"):
        svi.fit_slice_vols([0, 1, 2, 3, 4], [0.2] * 5, 0.0)


# ---------------------------------------------------------------- SviSurface and resampling


def _ordered_slices():
    """Slices of an SSVI-shaped family, ordered in w at every k (no calendar arbitrage)."""
    taus = np.array([0.1, 0.5, 1.0, 2.0])
    slices = [
        svi.NaturalSVI(delta=0.0, mu=0.0, rho=-0.5, omega=0.04 * t, zeta=0.8 / np.sqrt(0.04 * t)).to_raw()
        for t in taus
    ]
    return taus, slices


def test_svi_surface_interpolates_monotonically_and_derivatives_match():
    taus, slices = _ordered_slices()
    surf = svi.SviSurface(taus, slices)
    assert isinstance(surf, DifferentiableSurface)
    k = np.linspace(-2, 2, 81)[:, None]
    t = np.linspace(0.01, 3.0, 200)[None, :]
    assert surf.calendar_arbitrage_free(k.ravel())
    w, dw, d2w, dwt = surf.total_variance_derivatives(k, t)
    assert (np.diff(w, axis=1) >= 0).all() and (dwt >= 0).all()
    for tau, s in zip(taus, slices):  # exact at the nodes
        np.testing.assert_allclose(surf.total_variance(k, tau), s.total_variance(k), rtol=1e-15)
    # Finite differences (central, h = 1e-5 in k; one-sided inside a tau segment): 1e-7
    # relative covers the h^2 truncation.
    h = 1e-5

    def dk(values):
        return (values(k + h, t) - values(k - h, t)) / (2 * h)

    np.testing.assert_allclose(dw, dk(surf.total_variance), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(d2w, dk(lambda kk, tt: surf.total_variance_derivatives(kk, tt)[1]), rtol=1e-6, atol=1e-8)
    t_mid = np.array([0.3, 0.75, 1.5, 2.5])
    fd_tau = (surf.total_variance(k, t_mid + h) - surf.total_variance(k, t_mid - h)) / (2 * h)
    np.testing.assert_allclose(surf.total_variance_derivatives(k, t_mid)[3], fd_tau, rtol=1e-7)
    np.testing.assert_allclose(surf.implied_vol(k, t), np.sqrt(w / t), rtol=1e-15)


def test_svi_surface_fit_per_slice():
    taus, slices = _ordered_slices()
    k = np.linspace(-1, 1, 15)
    kk, tt = np.meshgrid(k, taus)
    ww = np.stack([s.total_variance(k) for s in slices])
    surf = svi.SviSurface.fit(kk.ravel(), tt.ravel(), ww.ravel())
    np.testing.assert_allclose(surf.total_variance(kk, tt), ww, rtol=1e-9)  # exact SVI data


def test_svi_surface_validates():
    _, slices = _ordered_slices()
    with pytest.raises(ValueError, match="^taus"):
        svi.SviSurface([0.5, 0.1, 1.0, 2.0], slices)
    with pytest.raises(ValueError, match="^slices"):
        svi.SviSurface([0.1, 0.5, 1.0], slices)


def test_resample_grids():
    taus, slices = _ordered_slices()
    surf = svi.SviSurface(taus, slices)
    frame = svi.resample_moneyness_days(surf)
    assert len(frame) == 21 * 21
    assert list(frame.columns) == ["days", "moneyness", "tau", "k", "total_variance", "implied_vol"]
    np.testing.assert_allclose(frame["tau"], frame["days"] / 365.0)
    np.testing.assert_allclose(frame["k"], np.log(frame["moneyness"]))
    np.testing.assert_allclose(frame["implied_vol"], surf.implied_vol(frame["k"].to_numpy(), frame["tau"].to_numpy()))
    grid = svi.resample(surf, [-0.1, 0.0, 0.1], [0.25, 1.0])
    assert grid["tau"].tolist() == [0.25] * 3 + [1.0] * 3
    with pytest.raises(ValueError, match="^surface"):
        svi.resample(object(), [0.0], [1.0])
    with pytest.raises(ValueError, match="^days"):
        svi.resample_moneyness_days(surf, days=[0.0, 30.0])
