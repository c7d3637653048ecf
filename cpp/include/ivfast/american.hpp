// American vanilla options on a spot with a zero-rate curve (or a flat rate), a continuous
// dividend yield and discrete cash dividends, by finite differences; American implied
// volatilities by a safeguarded root-finder on that pricer.
//
// Method (american_fd.cpp): the Black-Scholes PDE in y = ln S on a sinh-stretched grid
// concentrated at the strike (Tavella & Randall, "Pricing Financial Instruments: The Finite
// Difference Method", 2000, ch. 5), with the spot on a node and the payoff averaged over the
// cell that holds the strike (Pooley, Vetzal & Forsyth, J. Comp. Finance 6(4), 2003);
// Crank-Nicolson steps with Rannacher start-up (Rannacher, Numer. Math. 43, 1984) on a time
// grid uniform in sqrt(time to expiry) per dividend period; the early-exercise constraint
// solved exactly at every step as a tridiagonal linear complementarity problem by the
// Brennan-Schwartz algorithm (J. Finance 32, 1977; convergence: Jaillet, Lamberton & Lapeyre,
// Acta Appl. Math. 21, 1990); cash dividends as the jump condition V(S, t-) = V(S - D, t+)
// by cubic interpolation, with exercise allowed just before each ex-date; and Richardson
// extrapolation over two nested grids (h, dt) and (h/2, dt/2).
//
// Conventions: times in years from the valuation date; rates continuously compounded;
// dividends in the spot model (the spot drops by the cash amount on the ex-date, floored at 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ivfast/black_batch.hpp"

namespace ivfast::american {

using black_batch::Strided;

struct CashDividend {
  double time;    // ex-date, years from the valuation date
  double amount;  // cash amount in spot units, >= 0
};

// Zero rates z(t) linear in t between pillars, flat beyond them; discount(t) = exp(-z(t) t).
class ZeroCurve {
 public:
  ZeroCurve() = default;
  // Throws std::invalid_argument unless the times are finite, positive and increasing and the
  // rates finite, with as many rates as times.
  ZeroCurve(std::vector<double> times, std::vector<double> zero_rates);
  bool empty() const { return times_.empty(); }
  double zero_rate(double t) const;

 private:
  std::vector<double> times_, rates_;
};

// What a chain shares: the curve (empty: each contract's flat `rate`) and the dividends.
struct Market {
  ZeroCurve curve;
  std::vector<CashDividend> dividends;  // any order; amounts >= 0 and times finite (throws otherwise)
  void validate() const;                // std::invalid_argument on a bad dividend
};

// Grid of the coarser of the two Richardson solves (the finer one doubles both counts).
struct Grid {
  int space_nodes = 320;
  int time_steps = 100;
  bool extrapolate = true;
};

struct Contract {
  double spot, strike, tau, vol, rate, dividend_yield;
  bool is_call;
};

// American price; NaN when an input is out of domain (spot, strike, tau, vol <= 0 or not finite).
double price(const Contract& contract, const Market& market, const Grid& grid);

// Forward of the spot model to `tau`: S e^{(r-q)tau} - sum of D_i e^{(r-q)(tau-t_i)}, 0 < t_i < tau
// with the curve's forward rates; and the discount factor to `tau`.
double forward(const Contract& contract, const Market& market);
double discount(const Contract& contract, const Market& market);

struct PriceInputs {
  Strided<double> spot, strike, tau, vol, rate, dividend_yield;
  Strided<std::uint8_t> is_call;
};

struct InversionInputs {
  Strided<double> price, spot, strike, tau, rate, dividend_yield;
  Strided<std::uint8_t> is_call;
};

void price(const PriceInputs& in, const Market& market, const Grid& grid, std::size_t n, double* out, int threads);

// Status codes are lbr::Status: kOk, kBelowIntrinsic, kAboveUpperBound (price >= S for calls,
// >= K for puts), kInvalidInput, kEarlyExercise (price at the value the option has at the
// smallest volatility tried), kBelowPriceAccuracy (time value below 1e-9 of the strike),
// kNoConvergence. NaN wherever the status is not kOk.
void implied_vol(const InversionInputs& in, const Market& market, const Grid& grid, std::size_t n, double* out,
                 std::int8_t* status, int threads);

}  // namespace ivfast::american
