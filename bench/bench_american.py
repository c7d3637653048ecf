"""American implied volatilities: ivfast against QuantLib's engines on one full chain.

Run with ``./run.sh bench -k american``. The chain: spot 100, 10 expiries from 1 week to 2 years,
41 strikes per expiry over +-2.5 standard deviations, calls and puts (820 options), a smile
``0.2 + 0.1 k^2 / tau`` capped at 60 %, rate 4 %, yield 1.3 %. The quotes are QuantLib's QD+
fixed-point prices at its "accurate" scheme (~4e-8 of the price), so no engine inverts its own
prices. Every peer inverts with a bracketed Brent search in the same Python loop over QuantLib's
pricer (QuantLib's own ``impliedVolatility`` of an American option always reprices on a 100 x 100
finite-difference grid, far from 1e-6), one thread:

* ivfast ``american_implied_vol`` at its default grid (~1e-6 of the price), 1 thread and all threads;
* QuantLib ``QdFpAmericanEngine`` fast scheme (Andersen-Lake-Offengenden; ~1e-6, no cash dividends);
* QuantLib ``FdBlackScholesVanillaEngine`` (Crank-Nicolson) on 800 x 800 and 1600 x 1600 grids,
  on every 41st option (it needs seconds per volatility). Its error falls only about linearly with
  the grid (1.3e-4, 5e-5, 2.2e-5, 1.0e-5 of the price at 200 ... 1600), so 1e-6 would need a grid
  near 16000 x 16000 and ~100 x the 1600 cost.

The terminal summary prints the time per implied vol and the ratio to ivfast on 1 thread; each
label carries that engine's median and worst volatility error against the smile.
"""

from __future__ import annotations

import numpy as np
import pytest

import ivfast

ql = pytest.importorskip("QuantLib")

SPOT, RATE, YIELD = 100.0, 0.04, 0.013
DAYS = (7, 14, 30, 61, 91, 182, 273, 365, 547, 730)
TODAY = ql.Date(2, 1, 2025)


def _smile(k, tau):
    return np.minimum(0.2 + 0.1 * k**2 / tau, 0.6)


class _Pricer:
    """One QuantLib American option whose strike, expiry, type and vol can be set."""

    def __init__(self, make_engine):
        ql.Settings.instance().evaluationDate = TODAY
        dc = ql.Actual365Fixed()
        self.vol = ql.SimpleQuote(0.2)
        self.process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(SPOT)), ql.YieldTermStructureHandle(ql.FlatForward(TODAY, YIELD, dc)),
            ql.YieldTermStructureHandle(ql.FlatForward(TODAY, RATE, dc)),
            ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), ql.QuoteHandle(self.vol), dc)))
        self.engine = make_engine(self.process)

    def option(self, strike, days, is_call):
        payoff = ql.PlainVanillaPayoff(ql.Option.Call if is_call else ql.Option.Put, float(strike))
        opt = ql.VanillaOption(payoff, ql.AmericanExercise(TODAY, TODAY + int(days)))
        opt.setPricingEngine(self.engine)
        return opt

    def price(self, opt, vol):
        self.vol.setValue(float(vol))
        return opt.NPV()

    def implied_vol(self, opt, target):
        from scipy.optimize import brentq

        f = lambda v: self.price(opt, v) - target  # noqa: E731
        if f(1e-3) * f(3.0) > 0:  # at the exercise value (or below what vol 0.1 % gives): no vol, as for ivfast
            return np.nan
        return brentq(f, 1e-3, 3.0, xtol=1e-8, rtol=1e-10)


def _qdfp(scheme):
    return lambda p: ql.QdFpAmericanEngine(p, scheme)


def _fd(grid):
    return lambda p: ql.FdBlackScholesVanillaEngine(p, grid, grid, 0, ql.FdmSchemeDesc.CrankNicolson())


@pytest.fixture(scope="module")
def chain():
    days, k_sd, is_call = (a.ravel() for a in np.meshgrid(DAYS, np.linspace(-2.5, 2.5, 41), [False, True],
                                                         indexing="ij"))
    tau = days / 365.0
    atm = _smile(0.0, tau)
    forward = SPOT * np.exp((RATE - YIELD) * tau)
    strike = forward * np.exp(k_sd * atm * np.sqrt(tau))
    vol = _smile(np.log(strike / forward), tau)
    reference = _Pricer(_qdfp(ql.QdFpAmericanEngine.accurateScheme()))
    price = np.array([reference.price(reference.option(k, d, c), v) for k, d, c, v in zip(strike, days, is_call, vol)])
    return dict(days=days, tau=tau, strike=strike, is_call=is_call, vol=vol, price=price)


def _label(name, iv, vol):
    err = np.abs(np.asarray(iv, dtype=np.float64) - vol)
    return f"{name} [vol err med {np.nanmedian(err):.0e} max {np.nanmax(err):.0e}, {np.isnan(err).sum()} NaN]"


def _ivfast(chain, threads):
    return ivfast.american_implied_vol(chain["price"], SPOT, chain["strike"], chain["tau"], rate=RATE,
                                       dividend_yield=YIELD, is_call=chain["is_call"], threads=threads)


def _table(ratio_table):
    return ratio_table("American implied vol, one 820-option chain (1 thread unless stated)")


def test_ivfast_one_thread(benchmark, chain, ratio_table):
    iv = benchmark.pedantic(_ivfast, args=(chain, 1), rounds=3, iterations=1)
    _table(ratio_table).add(_label("ivfast (FD, C++)", iv, chain["vol"]), benchmark, len(iv))


def test_quantlib_qdfp_fast(benchmark, chain, ratio_table):
    pricer = _Pricer(_qdfp(ql.QdFpAmericanEngine.fastScheme()))
    options = [pricer.option(k, d, c) for k, d, c in zip(chain["strike"], chain["days"], chain["is_call"])]

    def run():
        return [pricer.implied_vol(o, p) for o, p in zip(options, chain["price"])]

    iv = benchmark.pedantic(run, rounds=1, iterations=1)
    _table(ratio_table).add(_label("QuantLib QdFp fast (ALO)", iv, chain["vol"]), benchmark, len(iv))


@pytest.mark.parametrize("grid", [800, 1600])
def test_quantlib_fd(benchmark, chain, ratio_table, grid):
    pricer = _Pricer(_fd(grid))
    sample = np.arange(0, len(chain["price"]), 41)
    options = [pricer.option(chain["strike"][i], chain["days"][i], chain["is_call"][i]) for i in sample]

    def run():
        return [pricer.implied_vol(o, chain["price"][i]) for o, i in zip(options, sample)]

    iv = benchmark.pedantic(run, rounds=1, iterations=1)
    _table(ratio_table).add(_label(f"QuantLib FD {grid}x{grid}", iv, chain["vol"][sample]), benchmark, len(sample))


def test_ivfast_all_threads(benchmark, chain, ratio_table):
    iv = benchmark.pedantic(_ivfast, args=(chain, None), rounds=3, iterations=1)
    _table(ratio_table).add("ivfast, all threads", benchmark, len(iv))
