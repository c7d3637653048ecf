"""QuantLib American references for the tests: the QD+ fixed-point engine at its high-precision
scheme (Andersen, Lake & Offengenden 2016; ~1e-10 without cash dividends) and the finite-difference
engine with a cash-dividend schedule at a given grid.

Times are whole days on Actual/365 from a fixed valuation date, so ``tau`` and the ex-times the
helpers return are the exact year fractions QuantLib uses; pass those to ivfast.
"""

from __future__ import annotations

import QuantLib as ql

TODAY = ql.Date(2, 1, 2025)
DAY_COUNT = ql.Actual365Fixed()


def year_fraction(days: int) -> float:
    """Actual/365 year fraction of ``days`` days."""
    return days / 365.0


def _option(spot, strike, days, vol, rate, dividend_yield, is_call):
    ql.Settings.instance().evaluationDate = TODAY
    maturity = TODAY + int(days)
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, dividend_yield, DAY_COUNT)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, DAY_COUNT)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), vol, DAY_COUNT)),
    )
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if is_call else ql.Option.Put, strike)
    return ql.VanillaOption(payoff, ql.AmericanExercise(TODAY, maturity)), process


def qdfp_price(spot, strike, days, vol, rate, dividend_yield, is_call) -> float:
    """American price by QuantLib's QdFpAmericanEngine, high-precision scheme (no cash dividends)."""
    option, process = _option(spot, strike, days, vol, rate, dividend_yield, is_call)
    option.setPricingEngine(ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.highPrecisionScheme()))
    return option.NPV()


def fd_price(spot, strike, days, vol, rate, dividend_yield, is_call, dividends=(), grid=2000) -> float:
    """American price by QuantLib's FdBlackScholesVanillaEngine (Crank-Nicolson, spot cash-dividend
    model) on ``grid`` time steps by ``grid`` spot nodes; ``dividends`` are (day, cash amount) rows."""
    option, process = _option(spot, strike, days, vol, rate, dividend_yield, is_call)
    schedule = ql.DividendVector([TODAY + int(d) for d, _ in dividends], [float(a) for _, a in dividends])
    option.setPricingEngine(ql.FdBlackScholesVanillaEngine(process, schedule, grid, grid, 0,
                                                           ql.FdmSchemeDesc.CrankNicolson()))
    return option.NPV()


def fd_implied_vol(price, spot, strike, days, rate, dividend_yield, is_call, dividends=(), grid=200) -> float:
    """QuantLib's American implied volatility on its FD engine (Brent on the pricer, 1e-8 accuracy)."""
    option, process = _option(spot, strike, days, 0.2, rate, dividend_yield, is_call)
    schedule = ql.DividendVector([TODAY + int(d) for d, _ in dividends], [float(a) for _, a in dividends])
    option.setPricingEngine(ql.FdBlackScholesVanillaEngine(process, schedule, grid, grid, 0,
                                                           ql.FdmSchemeDesc.CrankNicolson()))
    return option.impliedVolatility(price, process, schedule, 1e-8, 200, 1e-4, 10.0)
