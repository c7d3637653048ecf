"""Arbitrage checks: dense 200 x 200 surface checks, and quote checks against arbitragerepair.

Run with ``./run.sh bench -k arbitrage`` (or ``pytest bench/bench_arbitrage.py``). The terminal
summary prints the median time per grid point (or quote) and the ratio to the first row.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import ivfast
from ivfast import arbitrage

K = np.linspace(-1.5, 1.5, 200)
TAU = np.geomspace(1 / 52, 3.0, 200)


def product_ssvi():
    """ivfast.svi.ssvi's closed-form SSVI inside Gatheral-Jacquier's no-arbitrage region."""
    from ivfast.svi import SSVI, MonotoneTheta

    theta = MonotoneTheta(np.geomspace(1 / 52, 3.0, 12), 0.04 * np.geomspace(1 / 52, 3.0, 12))
    surface = SSVI(rho=-0.7, phi_kind="power_law", phi_params=(1.1, 0.4), theta=theta)
    assert surface.satisfies_gj_conditions()
    return surface


class ValuesOnly:
    """A surface without derivatives: check_surface falls back to finite differences."""

    def __init__(self, surface):
        self.total_variance = surface.total_variance
        self.implied_vol = surface.implied_vol


def _table(ratio_table):
    return ratio_table("surface check, 200 x 200 grid (per grid point)")


def test_ssvi_closed_form(benchmark, ratio_table):
    report = benchmark(arbitrage.check_surface, product_ssvi(), K, TAU)
    assert report.ok()
    _table(ratio_table).add("ivfast.svi.SSVI, analytic derivatives", benchmark, K.size * TAU.size)


def test_ssvi_finite_differences(benchmark, ratio_table):
    report = benchmark(arbitrage.check_surface, ValuesOnly(product_ssvi()), K, TAU, 1e-6)
    assert report.ok()
    _table(ratio_table).add("ivfast.svi.SSVI, finite differences (7 evaluations)", benchmark, K.size * TAU.size)


@pytest.fixture(scope="module")
def fitted():
    torch = pytest.importorskip("torch")
    from ivfast.surface import SmoothingConfig, fit_surface

    torch.set_num_threads(1)
    kk, tt = np.meshgrid(np.linspace(-0.8, 0.6, 15), np.geomspace(0.05, 2.0, 8))
    iv = product_ssvi().implied_vol(kk, tt)
    return fit_surface(kk.ravel(), tt.ravel(), iv.ravel(), config=SmoothingConfig(max_epochs=50, progress=False))


def test_deep_smoothing_fit(benchmark, fitted, ratio_table):
    benchmark.pedantic(arbitrage.check_surface, args=(fitted, K, TAU), rounds=5, iterations=1)
    _table(ratio_table).add("deep-smoothing FittedSurface (autograd)", benchmark, K.size * TAU.size)


# FittedSurface.arbitrage_diagnostics hands torch a read-only broadcast view (reported to the lead).
def test_deep_smoothing_own_diagnostics(benchmark, fitted, ratio_table):
    kk, tt = np.meshgrid(K, TAU)
    benchmark.pedantic(fitted.arbitrage_diagnostics, args=(kk, tt), rounds=5, iterations=1)
    _table(ratio_table).add("  peer: FittedSurface.arbitrage_diagnostics", benchmark, K.size * TAU.size)


# --- quotes: ivfast against arbitragerepair's constraint construction + detection -------------

N_T, N_K = 20, 20


@pytest.fixture(scope="module")
def quotes():
    rng = np.random.default_rng(5)
    taus = np.geomspace(0.05, 2.0, N_T)
    fwd = 100 * np.exp(0.02 * taus)
    strikes = np.sort(rng.uniform(60, 160, (N_T, N_K)), axis=1)
    vol = 0.2 * (1 - 0.3 * np.log(strikes / fwd[:, None]))
    prices = np.asarray(ivfast.black_price(fwd[:, None], strikes, taus[:, None], vol))
    return strikes, taus, prices * (1 + 1e-3 * rng.standard_normal(prices.shape)), fwd


def _quote_table(ratio_table):
    return ratio_table(f"quote check, {N_T} maturities x {N_K} strikes (per quote)")


def test_quotes_ivfast(benchmark, quotes, ratio_table):
    strikes, taus, prices, fwd = quotes
    benchmark(arbitrage.check_prices, strikes, taus, prices, fwd)
    _quote_table(ratio_table).add("ivfast.arbitrage.check_prices", benchmark, N_T * N_K)


def test_quotes_arbitragerepair(benchmark, quotes, ratio_table):
    crw = pytest.importorskip("arbitragerepair.constraints")
    strikes, taus, prices, fwd = quotes
    t = np.repeat(taus, N_K)
    kappa, c = (strikes / fwd[:, None]).ravel(), (prices / fwd[:, None]).ravel()

    def detect():
        # detect() itself fails under pandas >= 3; build its documented frame and call its builders
        df = pd.DataFrame({"T": t, "K": kappa, "C": c, "raw_index": np.arange(t.size, dtype=float)})
        df["T_order"] = df.groupby("T").ngroup().astype(float)
        df = pd.concat([df, pd.DataFrame({"T": taus, "K": 0.0, "C": 1.0})]).sort_values(["T", "K"])
        df = df.reset_index(drop=True)
        df["T_order"] = df["T_order"].bfill()
        by_t = df.groupby("T_order")["K"]
        df["K_m1"], df["K_m2"] = by_t.shift(1).fillna(0.0), by_t.shift(2).fillna(0.0)
        df["K_p1"] = by_t.shift(-1).fillna(1e10)
        df["K_order"] = df.groupby("T_order").cumcount()
        df["K_order_max"] = df.groupby("T_order")["K_order"].transform("max")
        n = t.size
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "invalid value encountered in cast", RuntimeWarning)
            blocks = [crw._constrain_outright(df, n, N_T), crw._constrain_vs(df, n, N_T), crw._constrain_vb(df, n, N_T),
                      crw._constrain_cs(df, n), crw._constrain_cvs(df, n), crw._constrain_cbs(df, n)]
        return [int(np.sum(a @ c - b < 0)) for a, b in blocks]

    benchmark.pedantic(detect, rounds=3, iterations=1)
    _quote_table(ratio_table).add("  peer: arbitragerepair constraints + detect", benchmark, N_T * N_K)
