"""Model-free quote checks (ivfast.arbitrage.check_prices / check_vols / check_quotes): hand-made
violations, prices from known surfaces, and agreement with Cohen-Reisinger-Wang's arbitragerepair."""

from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

import ivfast
from ivfast import arbitrage

from ._surfaces import SSVI, VOGT, raw_svi

# Black prices carry ~1e-16 relative rounding; a butterfly divides price differences by strike
# gaps of ~1e-2 twice, so arbitrage-free grids can show violations of ~1e-13: ignore below 1e-12.
ROUNDING_TOL = 1e-12


def grid_prices(w_of_k, strikes, taus, forwards, discounts):
    """Discounted Black prices on a (tau, strike) grid from total variance w(k, tau)."""
    k = np.log(strikes / forwards[:, None])
    vol = np.sqrt(w_of_k(k, taus[:, None]) / taus[:, None])
    return np.asarray(ivfast.black_price(forwards[:, None], strikes, taus[:, None], vol, discount=discounts[:, None]))


def kinds(report):
    return {k for k, n in report.counts().items() if n}


def test_prices_from_an_arbitrage_free_ssvi_pass_with_unaligned_strikes_and_rates():
    rng = np.random.default_rng(3)
    taus = np.array([0.1, 0.25, 0.5, 1.0, 2.0])
    forwards = 100 * np.exp(0.03 * taus)
    discounts = np.exp(-0.05 * taus)
    strikes = np.sort(rng.uniform(50, 200, (taus.size, 30)), axis=1)  # different strikes per maturity
    prices = grid_prices(SSVI().total_variance, strikes, taus, forwards, discounts)
    report = arbitrage.check_prices(strikes, taus, prices, forwards, discounts, tol=ROUNDING_TOL)
    assert report.ok(), str(report)
    assert report.checked["calendar"] > 0 and report.checked["butterfly"] == taus.size * 29


def test_vogt_prices_have_butterflies_inside_the_negative_density_region():
    k = np.arange(-1.0, 1.6, 0.05)
    one = np.ones(1)
    prices = grid_prices(lambda k, t: raw_svi(k, **VOGT)[0], np.exp(k)[None, :], one, one, one)
    report = arbitrage.check_prices(np.exp(k), [1.0], prices, 1.0, tol=ROUNDING_TOL)
    fly = report.violations[report.violations["kind"] == "butterfly"]
    # A butterfly centred at k with wings k +- 0.05 prices the density over (k - 0.05, k + 0.05):
    # negative only for centres within one step of g < 0 on (0.6424, 1.2569) (test_arbitrage_surface).
    assert len(fly) >= 8 and fly["k"].between(0.6424 - 0.05, 1.2569 + 0.05).all()
    assert abs(fly.loc[fly["size"].idxmax(), "k"] - 0.879) <= 0.1  # deepest near GJ's minimum of g
    # The negative density also makes the call price *increase* with K on about (0.51, 0.95):
    # flagged exactly between the strikes where the 30-digit Black price increases.
    spread = report.violations[report.violations["kind"] == "call_spread"]
    mp.mp.dps = 30
    exact = np.array([float(mp_call(x)) for x in k])
    np.testing.assert_allclose(np.sort(spread["k"]), k[1:][np.diff(exact) > 0], rtol=0, atol=1e-12)
    assert kinds(report) == {"butterfly", "call_spread"}


def mp_call(k):
    """Undiscounted Black call / F of the Vogt slice at log-moneyness k, in mpmath."""
    a, b, rho, m, sig = (mp.mpf(repr(VOGT[n])) for n in ("a", "b", "rho", "m", "sigma"))
    x = mp.mpf(repr(float(k)))
    s = mp.sqrt(a + b * (rho * (x - m) + mp.sqrt((x - m) ** 2 + sig**2)))
    d1 = -x / s + s / 2
    return mp.ncdf(d1) - mp.exp(x) * mp.ncdf(d1 - s)


def test_crossing_slices_priced_give_calendar_spreads_where_variance_decreases():
    early = dict(a=0.02, b=0.1, rho=-0.5, m=0.0, sigma=0.2)
    late = dict(a=0.05, b=0.05, rho=0.0, m=0.0, sigma=0.1)
    k = np.linspace(-1.2, 1.2, 49)
    strikes = 100 * np.exp(k)
    taus, fwd = np.array([0.5, 1.0]), np.array([100.0, 100.0])
    prices = np.vstack([grid_prices(lambda x, t: raw_svi(x, **p)[0], strikes[None, :], np.array([t]), fwd[:1],
                                    np.ones(1)) for p, t in ((early, 0.5), (late, 1.0))])
    report = arbitrage.check_prices(strikes, taus, prices, fwd, tol=ROUNDING_TOL)
    cal = report.violations[report.violations["kind"] == "calendar"]
    cross = brentq(lambda x: raw_svi(x, **early)[0] - raw_svi(x, **late)[0], -1.5, 0.0)
    # Same strikes and forward: C_late < C_early exactly where w_late < w_early (Black is increasing in w).
    np.testing.assert_allclose(np.sort(cal["k"]), k[k < cross], rtol=0, atol=1e-12)
    assert (cal["tau"] == 1.0).all()
    np.testing.assert_allclose(cal["size"].to_numpy(), (prices[0] - prices[1])[k < cross] / 100, rtol=1e-12)


def test_each_condition_on_a_hand_made_grid():
    # F = 100, D = 0.9; normalised c = C / 90, kappa = K / 100.
    strikes = np.array([80.0, 90.0, 100.0, 115.0, 130.0])
    good = 0.9 * np.array([21.0, 12.5, 6.0, 1.8, 0.5])
    assert arbitrage.check_prices(strikes, [1.0], good[None, :], 100.0, 0.9).ok()

    bad = good.copy()
    bad[0] = 0.9 * 19.0  # below intrinsic (100 - 80) D
    r = arbitrage.check_prices(strikes, [1.0], bad[None, :], 100.0, 0.9)
    pb = r.violations[r.violations["kind"] == "price_bounds"]
    assert list(pb["strike"]) == [80.0] and pb["size"].iloc[0] == pytest.approx(0.01)  # (20 - 19) / 100

    bad = good.copy()
    bad[3] = 0.9 * 6.5  # C(115) > C(100): call spread and the butterflies around it
    r = arbitrage.check_prices(strikes, [1.0], bad[None, :], 100.0, 0.9)
    cs = r.violations[r.violations["kind"] == "call_spread"]
    assert list(cs["strike"]) == [115.0] and cs["value"].iloc[0] == pytest.approx(0.5 / 15)

    bad = good.copy()
    bad[2] = 0.9 * 9.0  # above the chord between 90 and 115 (8.22): unequal-spacing butterfly
    r = arbitrage.check_prices(strikes, [1.0], bad[None, :], 100.0, 0.9)
    fly = r.violations[r.violations["kind"] == "butterfly"]
    assert list(fly["strike"]) == [100.0]
    # unit-peak butterfly price = slope(100 -> 115) - slope(90 -> 100), in normalised units
    assert fly["size"].iloc[0] == pytest.approx((9.0 - 12.5) / 10 - (1.8 - 9.0) / 15)
    assert kinds(r) == {"butterfly"}


def test_calendar_between_unaligned_strikes_uses_the_convex_envelopes():
    # F = 100, D = 1. Earlier slice: c = 0.115, 0.05, 0.015 at kappa = 0.9, 1.0, 1.1. Later slice
    # quoted only at 0.95 and 1.05 (c = x, 0.032). Least value of a convex interpolation of the
    # earlier slice at 0.95: max(chord (0, 0.9) extended = 0.065833, chord (1.0, 1.1) extended =
    # 0.0675, next quote 0.05) = 0.0675. Most the later slice can be at 1.0: (x + 0.032) / 2.
    strikes = np.array([[90.0, 100.0, 110.0], [95.0, 105.0, np.nan]])
    # At 0.9 it can be at most 1 - (1 - x) 0.9 / 0.95 (chord from the zero-strike call).
    shortfall = {95.0: 0.0675 - 0.065, 100.0: 0.05 - (0.065 + 0.032) / 2, 90.0: 0.115 - (1 - 0.935 * 0.9 / 0.95)}
    for x, expect in ((0.070, {}), (0.065, shortfall)):
        prices = np.array([[11.5, 5.0, 1.5], [100 * x, 3.2, np.nan]])
        r = arbitrage.check_prices(strikes, [0.5, 1.0], prices, 100.0)
        cal = r.violations[r.violations["kind"] == "calendar"]
        assert dict(zip(cal["strike"], cal["size"])) == pytest.approx(expect, abs=1e-15)
        assert kinds(r) <= {"calendar"}


def test_nan_quotes_are_skipped_and_counted():
    strikes = np.array([80.0, 90.0, 100.0, 115.0, 130.0])
    prices = np.array([[21.0, 12.5, np.nan, 1.8, 0.5], [23.0, 15.0, 9.0, np.inf, 2.0]])
    r = arbitrage.check_prices(strikes, [0.5, 1.0], prices, 100.0)
    assert r.skipped == 2 and r.ok()
    assert r.checked["butterfly"] == 3 + 3 and "2 quote cells skipped" in str(r)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (dict(strikes=[90.0, 80.0, 100.0]), "strikes: expected strictly increasing"),
        (dict(strikes=[80.0, 80.0, 100.0]), "strikes: expected strictly increasing"),
        (dict(strikes=[-1.0, 80.0, 100.0]), "strikes: expected values > 0"),
        (dict(taus=[1.0, 1.0]), "taus: duplicate maturity 1"),
        (dict(taus=[1.0, 0.5]), "taus: expected increasing"),
        (dict(call_prices=np.ones((3, 3))), r"call_prices: expected shape \(len\(taus\), n_strikes\)"),
        (dict(strikes=[80.0, 90.0]), "strikes: expected shape"),
        (dict(forwards=[100.0, 100.0, 100.0]), "forwards: expected a scalar or one value per maturity"),
        (dict(discounts=0.0), "discounts: expected finite values > 0"),
        (dict(tol=np.nan), "tol"),
    ],
)
def test_malformed_quote_grids_raise(change, match):
    args = dict(strikes=[80.0, 90.0, 100.0], taus=[0.5, 1.0], call_prices=np.array([[21, 12, 5], [22, 14, 8.0]]),
                forwards=100.0) | change
    with pytest.raises(ValueError, match=match):
        arbitrage.check_prices(**args)


def test_check_vols_converts_with_black_and_skips_missing_vols():
    taus = np.array([0.25, 1.0])
    strikes = np.array([80.0, 90.0, 100.0, 110.0, 120.0])
    vols = np.array([[0.3, 0.25, 0.2, 0.22, np.nan], [0.28, 0.25, 0.22, 0.22, 0.23]])
    fwd, disc = np.array([100.0, 101.0]), np.array([0.99, 0.96])
    by_vol = arbitrage.check_vols(strikes, taus, vols, fwd, disc)
    prices = np.asarray(ivfast.black_price(fwd[:, None], strikes, taus[:, None], vols, discount=disc[:, None]))
    by_price = arbitrage.check_prices(strikes, taus, prices, fwd, disc)
    assert by_vol.skipped == by_price.skipped == 1
    pd.testing.assert_frame_equal(by_vol.violations, by_price.violations)
    with pytest.raises(ValueError, match="vols: expected implied volatilities >= 0"):
        arbitrage.check_vols(strikes, taus, -vols, fwd, disc)


def test_long_format_table_matches_the_grid():
    taus = np.array([0.25, 1.0])
    strikes = np.array([[80.0, 90.0, 100.0, 110.0], [85.0, 100.0, 115.0, np.nan]])
    prices = np.array([[20.5, 11.0, 3.9, 0.7], [17.0, 8.0, 2.5, np.nan]])
    rows = [dict(TAU=t, Strike=k, forward=100.0, call_price=c, discount=0.99)
            for t, ks, cs in zip(taus, strikes, prices) for k, c in zip(ks, cs) if np.isfinite(k)]
    table = pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # any row order
    expected = arbitrage.check_prices(strikes, taus, prices, 100.0, 0.99)
    got = arbitrage.check_quotes(table)
    pd.testing.assert_frame_equal(got.violations, expected.violations)
    assert got.checked == expected.checked and got.skipped == 0

    with pytest.raises(ValueError, match="missing column"):
        arbitrage.check_quotes(table.drop(columns="forward"))
    with pytest.raises(ValueError, match="appears twice"):
        arbitrage.check_quotes(pd.concat([table, table.iloc[:1]]))
    varying = table.copy()
    varying.loc[varying.index[0], "forward"] = 101.0
    with pytest.raises(ValueError, match="forward: expected one value per maturity"):
        arbitrage.check_quotes(varying)


# --- agreement with arbitragerepair (Cohen, Reisinger & Wang 2020) -------------------------------

def _crw_breaches(taus, kappa, c):
    """arbitragerepair's breached-constraint counts per family (outright, vertical spread, vertical
    butterfly, calendar spread, calendar vertical spread, calendar butterfly) on normalised quotes.

    Its ``detect`` no longer runs under pandas >= 3 (``fillna(method=...)`` and chained in-place
    updates); the frame its constraint builders document is built here with current pandas, and
    the builders themselves are called unchanged.
    """
    from arbitragerepair import constraints as crw

    df = pd.DataFrame({"T": taus, "K": kappa, "C": c, "raw_index": np.arange(taus.size, dtype=float)})
    df["T_order"] = df.groupby("T").ngroup().astype(float)
    zero_strike = pd.DataFrame({"T": np.unique(taus), "K": 0.0, "C": 1.0})
    df = pd.concat([df, zero_strike]).sort_values(["T", "K"]).reset_index(drop=True)
    df["T_order"] = df["T_order"].bfill()
    by_t = df.groupby("T_order")["K"]
    df["K_m1"] = by_t.shift(1).fillna(0.0)
    df["K_m2"] = by_t.shift(2).fillna(0.0)
    df["K_p1"] = by_t.shift(-1).fillna(1e10)
    df["K_order"] = df.groupby("T_order").cumcount()
    df["K_order_max"] = df.groupby("T_order")["K_order"].transform("max")
    n, n_t = taus.size, np.unique(taus).size
    with warnings.catch_warnings():
        # the builders cast the zero-strike rows' NaN index to int before masking them out
        warnings.filterwarnings("ignore", "invalid value encountered in cast", RuntimeWarning)
        blocks = [crw._constrain_outright(df, n, n_t), crw._constrain_vs(df, n, n_t), crw._constrain_vb(df, n, n_t),
                  crw._constrain_cs(df, n), crw._constrain_cvs(df, n), crw._constrain_cbs(df, n)]
    return [int(np.sum(a @ c - b < 0.0)) for a, b in blocks]


def _random_grid(rng):
    n_t = rng.integers(2, 6)
    taus = np.sort(rng.choice(np.arange(1, 37), n_t, replace=False)) / 12.0
    fwd, disc = 100 * np.exp(0.02 * taus), np.exp(-0.03 * taus)
    n_k = 8
    strikes, prices = np.full((n_t, n_k), np.nan), np.full((n_t, n_k), np.nan)
    vol = 0.15 + 0.1 * rng.random()
    for i in range(n_t):
        kappa = np.unique(rng.uniform(0.6, 1.5, rng.integers(2, n_k + 1)))
        if rng.random() < 0.5:  # shared round strikes across maturities half of the time
            kappa = np.unique(np.round(kappa, 1)) if np.unique(np.round(kappa, 1)).size >= 2 else kappa
        m = kappa.size
        strikes[i, :m] = kappa * fwd[i]
        smile = vol * (1 - 0.3 * np.log(kappa))
        prices[i, :m] = ivfast.black_price(fwd[i], strikes[i, :m], taus[i], smile, discount=disc[i])
    noise = rng.choice([0.0, 1e-3, 1e-2, 5e-2])
    return strikes, taus, prices * (1 + noise * rng.standard_normal(prices.shape)), fwd, disc


def test_detection_agrees_with_arbitragerepair_on_random_perturbed_grids():
    rng = np.random.default_rng(20240601)
    seen = np.zeros(2, dtype=int)
    for _ in range(40):
        strikes, taus, prices, fwd, disc = _random_grid(rng)
        mine = arbitrage.check_prices(strikes, taus, prices, fwd, disc).counts()
        quoted = np.isfinite(prices)
        ref = _crw_breaches(np.broadcast_to(taus[:, None], prices.shape)[quoted], (strikes / fwd[:, None])[quoted],
                            (prices / (disc * fwd)[:, None])[quoted])
        within = mine["price_bounds"] + mine["call_spread"] + mine["butterfly"] > 0
        assert within == (sum(ref[:3]) > 0)
        if not within:
            # Across maturities the two formulations are equivalent when every slice is consistent
            # on its own (otherwise "the convex interpolation" of a slice does not exist).
            assert (mine["calendar"] > 0) == (sum(ref[3:]) > 0)
        seen += [within, mine["calendar"] > 0]
    assert seen.min() >= 8  # both families are exercised, with and without arbitrage


def test_arbitragerepair_single_quote_maturity_bug_is_not_copied():
    # With one quote at an earlier maturity, arbitragerepair's calendar-butterfly row uses
    # b = -C* K* where the zero-strike leg gives b = -1/K*, and flags this arbitrage-free pair.
    taus = np.array([1 / 3, 0.5, 0.5])
    kappa = np.array([0.695349, 0.693035, 0.990050])
    c = np.array([0.304963, 0.308264, 0.070837])
    assert sum(_crw_breaches(taus, kappa, c)[3:]) > 0
    strikes = np.array([[kappa[0], np.nan], kappa[1:]])
    report = arbitrage.check_prices(strikes, [1 / 3, 0.5], np.array([[c[0], np.nan], c[1:]]), 1.0)
    assert report.ok()


def test_bates_prices_on_the_seed_grid_are_arbitrage_free():
    # The seed's reference experiment: spot 1, r = q = 0, its grid and reference Bates set.
    strikes, taus = ivfast.datasets.ackerer_grid()
    params = ivfast.BatesParams(**ivfast.datasets.ACKERER_REFERENCE_BATES)
    prices = ivfast.call_prices(params, strikes, taus)
    report = arbitrage.check_prices(strikes, taus, prices, 1.0)
    # tol = 0: the pricer's errors (~1e-13 of the forward) stay below the arbitrage margins here.
    assert report.ok(), str(report)
    assert report.checked["calendar"] > 0 and report.checked["butterfly"] == 18 * 17
