"""ivfast.arbitrage.check_surface against closed forms: known arbitrage is found where it is,
known arbitrage-free surfaces pass.

The test surfaces are small closed forms written here (raw SVI per slice, SSVI with a power-law
phi, flat Black-Scholes) so that these tests do not depend on ivfast.svi.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from ivfast import arbitrage
from ivfast.arbitrage.continuous import surface_derivatives

from ._surfaces import SSVI, VOGT, RawSVISlices, raw_svi









class ValuesOnly:
    """Hides a surface's derivatives, so that check_surface falls back to finite differences."""

    def __init__(self, surface):
        self.surface = surface

    def total_variance(self, k, tau):
        return self.surface.total_variance(k, tau)

    def implied_vol(self, k, tau):
        return self.surface.implied_vol(k, tau)


class Formula:
    """w(k, tau) from a vectorised formula, values only."""

    def __init__(self, f):
        self.f = f

    def total_variance(self, k, tau):
        k, tau = np.broadcast_arrays(np.asarray(k, float), np.asarray(tau, float))
        return self.f(k, tau)

    def implied_vol(self, k, tau):
        return np.sqrt(self.total_variance(k, tau) / tau)


def mp_g(k, p):
    """Gatheral-Jacquier g(k) of a raw SVI slice at 40 digits (mpmath derivatives)."""
    mp.mp.dps = 40
    a, b, rho, m, sig = (mp.mpf(repr(p[n])) for n in ("a", "b", "rho", "m", "sigma"))

    def w(x):
        return a + b * (rho * (x - m) + mp.sqrt((x - m) ** 2 + sig**2))

    x = mp.mpf(repr(float(k)))
    w0, w1, w2 = w(x), mp.diff(w, x), mp.diff(w, x, 2)
    return (1 - x * w1 / (2 * w0)) ** 2 - w1**2 / 4 * (1 / w0 + mp.mpf(1) / 4) + w2 / 2


def test_vogt_slice_has_butterfly_arbitrage_where_gatheral_jacquier_say():
    k = np.linspace(-1.5, 1.5, 601)
    report = arbitrage.check_surface(RawSVISlices([1.0], [VOGT]), k, [1.0])
    fly = report.violations[report.violations["kind"] == "butterfly"]
    # g < 0 exactly on (0.64241, 1.25691): the roots of g at 40 digits (GJ 2014, Fig. 2 shows the dip near k = 0.9).
    lo, hi = (float(mp.findroot(lambda x: mp_g(x, VOGT), x0)) for x0 in (0.6, 1.25))
    assert lo == pytest.approx(0.64241, abs=1e-5) and hi == pytest.approx(1.25691, abs=1e-5)
    np.testing.assert_array_equal(np.sort(fly["k"].to_numpy()), k[(k > lo) & (k < hi)])
    # Values are g itself: double-precision closed form vs 40-digit reference, |g| <= 1 so 1e-13 absolute.
    expected = np.array([float(mp_g(x, VOGT)) for x in fly["k"]])
    np.testing.assert_allclose(fly["value"], expected, rtol=0, atol=1e-13)
    assert (fly["value"] < 0).all() and report.worst()["butterfly"] == pytest.approx(0.0327, abs=2e-4)
    assert report.counts()["calendar"] == 0 and report.counts()["lee"] == 0


def test_vogt_slice_found_by_finite_differences_too():
    k = np.linspace(-1.5, 1.5, 601)
    exact = arbitrage.check_surface(RawSVISlices([1.0], [VOGT]), k, [1.0])
    fd = arbitrage.check_surface(ValuesOnly(RawSVISlices([1.0], [VOGT])), k, [1.0], tol=1e-6)
    # Finite-difference g is accurate to ~1e-7 (steps eps^(1/3), eps^(1/4)): same points beyond 1e-6.
    big = exact.violations.query("kind == 'butterfly' and size > 1e-6")
    np.testing.assert_array_equal(fd.violations.query("kind == 'butterfly'")["k"], big["k"])
    assert "finite differences" in fd.source and "analytic" in exact.source


def test_crossing_slices_give_calendar_arbitrage_exactly_where_they_cross():
    early = dict(a=0.02, b=0.1, rho=-0.5, m=0.0, sigma=0.2)  # steep left wing
    late = dict(a=0.05, b=0.05, rho=0.0, m=0.0, sigma=0.1)  # higher ATM, flatter wings
    surface = RawSVISlices([0.5, 1.0], [early, late])
    k = np.linspace(-1.5, 1.5, 301)
    tau = np.array([0.25, 0.5, 0.6, 0.75, 0.9, 1.0])
    report = arbitrage.check_surface(surface, k, tau)
    cross = brentq(lambda x: raw_svi(x, **early)[0] - raw_svi(x, **late)[0], -1.5, 0.0)
    cal = report.violations[report.violations["kind"] == "calendar"]
    # Between the slices dw/dtau = (w_late - w_early)/0.5 < 0 exactly for k < cross; at tau <= 0.5, w grows from 0.
    assert set(cal["tau"]) == {0.6, 0.75, 0.9, 1.0}
    for t in (0.6, 0.75, 0.9, 1.0):
        np.testing.assert_array_equal(cal[cal["tau"] == t]["k"], k[k < cross])
    size = (raw_svi(k[k < cross], **early)[0] - raw_svi(k[k < cross], **late)[0]) / 0.5
    np.testing.assert_allclose(cal[cal["tau"] == 0.75]["size"], size, rtol=1e-12)


def test_ssvi_in_the_gatheral_jacquier_region_is_arbitrage_free():
    # eta (1 + |rho|) = 1.87 <= 2 with gamma in (0, 1/2] implies GJ Theorem 4.2's conditions
    # theta phi (1 + |rho|) < 4 and theta phi^2 (1 + |rho|) <= 4 (no butterfly arbitrage), since
    # theta phi <= eta and theta phi^2 <= eta^2; theta and theta phi(theta) increase: Theorem 4.1.
    report = arbitrage.check_surface(SSVI(), tol=0.0)
    assert report.ok(), str(report)
    assert set(report.checked) == set(arbitrage.KINDS) - {"price_bounds", "call_spread"}
    assert report.checked["butterfly"] == arbitrage.DEFAULT_K.size * arbitrage.DEFAULT_TAU.size


@settings(max_examples=25, deadline=None)
@given(rho=st.floats(-0.95, 0.95), gamma=st.floats(0.05, 0.5), eta_frac=st.floats(0.05, 1.0),
       v=st.floats(0.05, 0.8), c=st.floats(0.0, 0.05))
def test_any_ssvi_in_the_sufficient_region_passes(rho, gamma, eta_frac, v, c):
    surface = SSVI(rho=rho, eta=eta_frac * 2 / (1 + abs(rho)), gamma=gamma, v=v, c=c)
    report = arbitrage.check_surface(surface, np.linspace(-1.5, 1.5, 61), np.geomspace(1 / 52, 3, 15))
    assert report.ok(), str(report)


def test_product_ssvi_agrees_with_the_local_closed_form():
    ssvi = pytest.importorskip("ivfast.svi.ssvi")
    nodes = np.geomspace(1 / 52, 3.0, 12)
    theta = ssvi.MonotoneTheta(nodes, 0.04 * nodes)  # collinear nodes: theta = 0.04 tau exactly
    inside = ssvi.SSVI(rho=-0.7, phi_kind="power_law", phi_params=(1.1, 0.4), theta=theta)
    report = arbitrage.check_surface(inside)
    assert report.ok(), str(report)
    outside = ssvi.SSVI(rho=-0.7, phi_kind="power_law", phi_params=(4.0, 0.4), theta=theta)
    fly = arbitrage.check_surface(outside).violations.query("kind == 'butterfly'")
    assert len(fly) > 100 and not outside.satisfies_gj_conditions()
    w, dw, d2w, _ = SSVI(rho=-0.7, eta=4.0, gamma=0.4, v=0.2, c=0.0).total_variance_derivatives(fly["k"], fly["tau"])
    g = (1 - fly["k"] * dw / (2 * w)) ** 2 - dw**2 / 4 * (1 / w + 0.25) + d2w / 2
    np.testing.assert_allclose(fly["value"], g, rtol=1e-9, atol=1e-12)  # two implementations, PCHIP rounding


def test_ssvi_finite_differences_match_analytic_derivatives():
    surface = SSVI()
    kk, tt = np.meshgrid(np.linspace(-1.5, 1.5, 41), np.geomspace(1 / 52, 3, 20))
    exact, how = surface_derivatives(surface, kk, tt)
    fd, how_fd = surface_derivatives(ValuesOnly(surface), kk, tt)
    assert (how, how_fd) == ("analytic", "finite differences")
    # The test class's analytic derivatives checked against finite differences: truncation h^2 ~ 4e-11
    # (first) / 1.5e-8 (second) times derivatives that reach 1e2 at the shortest maturity.
    for name, e, f, tol in zip(("w", "w_k", "w_kk", "w_tau"), exact, fd, (0, 1e-7, 1e-5, 1e-7)):
        np.testing.assert_allclose(f, e, rtol=tol, atol=tol, err_msg=name)
    report = arbitrage.check_surface(ValuesOnly(surface), tol=1e-6)  # FD accuracy ~1e-7 (see check_surface)
    assert report.ok(), str(report)


def test_flat_black_scholes_is_arbitrage_free_even_with_finite_differences():
    report = arbitrage.check_surface(Formula(lambda k, t: 0.2**2 * t + 0.0 * k))
    assert report.ok(), str(report)
    assert report.checked["zero_maturity"] == arbitrage.DEFAULT_K.size


def test_lee_bound_violated_only_in_the_steep_wing():
    steep = dict(a=0.04, b=1.6, rho=0.5, m=0.0, sigma=0.1)  # right wing slope b (1 + rho) = 2.4 > 2
    report = arbitrage.check_surface(RawSVISlices([1.0], [steep]), np.linspace(-1, 1, 101), [1.0])
    lee = report.violations[report.violations["kind"] == "lee"]
    assert list(lee["k"]) == [8.0]  # outer probe 8 x max|k| on the right only (left slope 0.8)
    chord = (raw_svi(8.0, **steep)[0] - raw_svi(4.0, **steep)[0]) / 4.0  # slope between the probes at 4 and 8
    assert lee["value"].iloc[0] == pytest.approx(chord, rel=1e-13) and 2.0 < chord < 2.4
    assert report.counts()["wing_curvature"] == 0  # SVI wings are asymptotically linear


def test_quadratic_wings_fail_the_curvature_and_lee_checks():
    tau = np.array([0.5, 1.0, 2.0])
    report = arbitrage.check_surface(Formula(lambda k, t: t * (0.04 + 0.1 * k**2)), np.linspace(-1, 1, 51), tau)
    curv = report.violations[report.violations["kind"] == "wing_curvature"]
    # |w''| = 0.2 t does not decay (exponent 0); at k = +-8 the slope 1.6 t plus 8 |w''| passes 2 for t > 0.625.
    assert sorted(curv["tau"]) == [1.0, 1.0, 2.0, 2.0]
    np.testing.assert_allclose(curv["value"], 0.0, atol=1e-6)
    np.testing.assert_allclose(curv["size"], 3.2 * curv["tau"] - 2.0, rtol=1e-6)  # FD derivatives
    # Wing slope between the probes at 4 and 8: 0.1 t (64 - 16) / 4 = 1.2 t > 2 only at t = 2...
    lee = report.violations[report.violations["kind"] == "lee"]
    assert sorted(lee["tau"]) == [2.0, 2.0] and sorted(lee["k"]) == [-8.0, 8.0]
    np.testing.assert_allclose(lee["value"], 2.4, rtol=1e-9)
    report = arbitrage.check_surface(Formula(lambda k, t: t * (0.04 + 0.1 * k**2)), np.linspace(-3, 3, 51), tau)
    # ...but between 12 and 24 it is 0.1 t (576 - 144) / 12 = 3.6 t > 2 for t > 0.556, on both sides.
    lee = report.violations[report.violations["kind"] == "lee"]
    assert sorted(lee["tau"]) == [1.0, 1.0, 2.0, 2.0] and sorted(lee["k"]) == [-24.0, -24.0, 24.0, 24.0]


def test_positivity_zero_maturity_and_nonfinite_points():
    k = np.linspace(-1, 1, 21)
    tau = np.array([0.5, 1.0, 2.0])
    report = arbitrage.check_surface(Formula(lambda k, t: 0.04 * t - 0.05 + 0 * k), k, tau)
    pos = report.violations[report.violations["kind"] == "positivity"]
    assert set(pos["tau"]) == {0.5, 1.0} and len(pos) == 2 * k.size  # w < 0 for tau < 1.25
    np.testing.assert_allclose(pos["size"], 0.05 - 0.04 * pos["tau"], rtol=1e-12)

    report = arbitrage.check_surface(Formula(lambda k, t: 0.01 + 0.04 * t + 0 * k), k, tau)
    zero = report.violations[report.violations["kind"] == "zero_maturity"]
    assert len(zero) == k.size and np.allclose(zero["size"], 0.01)
    assert report.counts()["calendar"] == report.counts()["butterfly"] == 0

    report = arbitrage.check_surface(Formula(lambda k, t: np.where(k > 0.5, np.nan, 0.04 * t)), k, tau)
    assert report.counts()["nonfinite"] == tau.size * (k > 0.5 - 2e-4).sum()  # FD stencils reach past 0.5
    assert report.worst()["nonfinite"] == np.inf and not report.ok()


def test_density_normalisation_catches_inconsistent_derivatives():
    class WrongCurvature(SSVI):
        def total_variance_derivatives(self, k, tau):
            w, dw, d2w, dtau = super().total_variance_derivatives(k, tau)
            return w, dw, 1.2 * d2w, dtau  # a bug in a user's second derivative

    report = arbitrage.check_surface(WrongCurvature(), tau=[0.25, 1.0])
    dens = report.violations[report.violations["kind"] == "density"]
    assert len(dens) == 2 and (np.abs(dens["value"] - 1.0) > 0.01).all()  # value = mass, 1.3% and 1.6% off
    assert report.counts()["butterfly"] == 0  # g is still positive: only the density check sees it


def test_density_flag_must_survive_grid_refinement():
    """Structure on the scale of the check grid's step can fool the trapezoid rule and its error
    estimate together (a fitted surface's 2-day density: mass 0.9982 on 1,090 points, 1 on 4,000).
    Here the curvature carries a ripple sampled at its crests by every grid node: the check grid sees
    mass 1.0054, finer grids see the ripple integrate to zero, so nothing may be reported."""
    amplitude, period = 0.01, 0.02

    class Rippled(SSVI):
        def total_variance_derivatives(self, k, tau):
            w, dw, d2w, dtau = super().total_variance_derivatives(k, tau)
            return w, dw, d2w + amplitude * np.cos(2 * np.pi * (np.asarray(k) + 1.0) / period), dtau

    k = -1.0 + period * np.arange(101)
    assert arbitrage.check_surface(Rippled(), k=k, tau=[0.25, 1.0], tol=1e-8).counts()["density"] == 0
    # A real normalisation error survives the refinement (WrongCurvature above), and so does one
    # that the refined grids resolve: a constant curvature offset of the ripple's size.

    class Offset(SSVI):
        def total_variance_derivatives(self, k, tau):
            w, dw, d2w, dtau = super().total_variance_derivatives(k, tau)
            return w, dw, d2w + amplitude, dtau

    dens = arbitrage.check_surface(Offset(), k=k, tau=[0.25, 1.0], tol=1e-8).violations
    assert (dens["kind"] == "density").sum() == 2 and np.allclose(dens["value"], 1.0 + amplitude / 2, atol=5e-4)


@pytest.mark.parametrize("rho", [-0.9, -0.3, 0.0, 0.6])
@pytest.mark.parametrize("gamma", [0.1, 0.3, 0.5])
def test_exact_gj_ssvi_reports_no_arbitrage_with_default_arguments(rho, gamma):
    """No false positives: power-law SSVI with eta at Gatheral & Jacquier's bound (Theorems 4.1 and
    4.2: every slice and the surface are free of static arbitrage) has no violation of any kind at
    the default grid and tol = 0, with ATM vols from 10 % to 95 % (large ATM variance puts the wing
    slope next to Lee's 2 and a short, low-vol slice makes the density narrow)."""
    from ivfast.svi import SSVI as IvfastSSVI
    from ivfast.svi.atm import MonotoneTheta
    from ivfast.svi.ssvi import power_law_eta_max

    for vol in (0.1, 0.4, 0.95):
        taus = np.array([1 / 365, 0.1, 1.0, 3.0])
        theta = MonotoneTheta(taus, vol**2 * taus * np.array([1.0, 1.1, 1.2, 1.25]))
        surface = IvfastSSVI(rho, "power_law", (float(power_law_eta_max(rho, gamma)), gamma), theta)
        assert surface.satisfies_gj_conditions()
        report = arbitrage.check_surface(surface)
        assert report.ok(), (vol, str(report))
        report = arbitrage.check_surface(surface, k=np.linspace(-0.3, 0.1, 201), tau=np.geomspace(1 / 365, 3, 60))
        assert report.ok(), (vol, "narrow k grid", str(report))


def test_density_width_ignores_wings_without_mass():
    """A far wing whose total variance extrapolates to almost nothing (a fitted network's
    short-maturity wing) carries no density; the quadrature step is set where the density has
    mass, so the check stays as cheap as for the surface without that wing and reports nothing."""
    base = SSVI()

    class CollapsingWing(SSVI):
        def total_variance_derivatives(self, k, tau):
            w, dw, d2w, dtau = super().total_variance_derivatives(k, tau)
            # |d_-| = |k| / sqrt(w) > 50 where the factor bites (sqrt(w) < 0.05 up to tau = 0.05), so
            # the density there is below exp(-1250) with or without it.
            factor = np.where(np.asarray(k) < -2.5, 1e-8, 1.0)
            return w * factor, dw * factor, d2w * factor, dtau * factor

    k, tau = np.linspace(-3, 0.5, 241), np.geomspace(1 / 365, 0.05, 20)
    from ivfast.arbitrage.continuous import _density_width

    kk, tt = np.meshgrid(k, tau)
    width = _density_width(k, CollapsingWing().total_variance(kk, tt))
    np.testing.assert_allclose(width, _density_width(k, base.total_variance(kk, tt)), rtol=1e-12)
    assert arbitrage.check_surface(CollapsingWing(), k=k, tau=tau).counts()["density"] == 0


def test_surface_that_cannot_be_evaluated_at_zero_maturity_gets_a_note():
    class NoZero(SSVI):
        def total_variance(self, k, tau):
            if np.any(np.asarray(tau) <= 0):
                raise ValueError("tau must be > 0")
            return super().total_variance(k, tau)

    report = arbitrage.check_surface(NoZero())
    assert "zero_maturity" not in report.checked and report.ok()
    assert any("not checked" in note for note in report.notes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(surface=object()), "surface"),
        (dict(k=[0.1, 0.0, 0.2]), "k: expected strictly increasing"),
        (dict(k=[0.0, 0.1]), "k: expected at least 3"),
        (dict(k=[[0.0, 0.1, 0.2]]), "k: expected a 1-D grid"),
        (dict(tau=[0.0, 1.0]), "tau: expected values > 0"),
        (dict(tau=[1.0, 1.0]), "tau: expected strictly increasing"),
        (dict(tau=["a"]), "tau"),
        (dict(tol=-1.0), "tol"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    args = dict(surface=SSVI()) | kwargs
    with pytest.raises(ValueError, match=match):
        arbitrage.check_surface(**args)


def test_surface_undefined_in_the_wings_gets_a_note_not_a_violation():
    bounded = Formula(lambda k, t: np.where(np.abs(k) <= 2.0, 0.04 * t + 0.0 * k, np.nan))
    report = arbitrage.check_surface(bounded, np.linspace(-1, 1, 41), [0.5, 1.0])
    assert report.ok() and any("wing probes" in note for note in report.notes)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-2.0, 2.0), st.floats(-0.5, 0.5)), min_size=1, max_size=12),
       st.floats(0.02, 0.3), st.integers(40, 400))
def test_density_quadrature_error_bound_holds_for_kinked_integrands(bumps, width, n):
    """The trapezoid error estimate of the density check bounds the true error of an integrand with
    kinks (a spline factor's knots make the density's derivative jump), wherever they fall between
    the nodes; the difference with the halved rule alone can miss it (aliasing)."""
    from scipy.integrate import quad

    from ivfast.arbitrage.continuous import _trapezoid_with_error

    def y(x):
        hats = sum(c * np.maximum(0.0, 1.0 - np.abs(x - xi) / width) for xi, c in bumps)
        return np.exp(-0.5 * x * x) * (1.0 + hats)

    kinks = sorted({p for xi, _ in bumps for p in (xi - width, xi, xi + width) if -3.0 < p < 3.0})
    exact = quad(y, -3.0, 3.0, points=kinks, limit=500, epsabs=1e-13)[0]
    # A grid resolves the bumps (two steps per half-width at least), as the density check's own
    # step rule resolves the density's width; nothing on a grid can see narrower structure.
    k = np.linspace(-3.0, 3.0, max(n, int(12.0 / width) + 2))
    value, error = _trapezoid_with_error(y(k)[None], k, kinks=True)
    assert abs(value[0] - exact) <= error[0]


def test_quote_grid_spans_the_quotes_and_rejects_bad_input():
    from ivfast.arbitrage.grids import quote_grid

    k_axis, tau_axis = quote_grid([-0.2, 0.0, 0.3], [0.1, 0.1, 0.5])
    # 10 % of the 0.5-wide k range on each side; every quoted maturity is a row.
    assert k_axis[0] == pytest.approx(-0.25) and k_axis[-1] == pytest.approx(0.35) and k_axis.size == 201
    assert {0.1, 0.5} <= set(tau_axis) and np.all(np.diff(tau_axis) > 0)
    for k, tau, name in [([], [], "k"), ([np.nan, 0.1], [0.1, 0.2], "k"), ([0.0, 0.1], [0.1], "k"),
                         ([0.0, 0.1], [0.0, 0.1], "tau"), ([0.0, 0.1], [0.1, np.inf], "tau")]:
        with pytest.raises(ValueError, match=name):
            quote_grid(k, tau)
