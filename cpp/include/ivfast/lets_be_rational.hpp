// Implied volatility by Jaeckel's "Let's Be Rational" (Wilmott 2015; revised 2016/2017).
#pragma once

#include "ivfast/isa.hpp"

#include <cstddef>
#include <cstdint>

namespace ivfast {
inline namespace IVFAST_ISA {
namespace lbr {

// Per-element outcome of an inversion. Bound as ivfast.IVStatus (cpp/bind/bind_black.cpp), so the
// values are part of the Python API.
enum class Status : std::int8_t {
  kOk = 0,
  kBelowIntrinsic = 1,   // price < intrinsic value: no volatility reproduces it
  kAboveUpperBound = 2,  // price >= F (calls) or >= K (puts), undiscounted
  kInvalidInput = 3,     // non-positive or non-finite price, forward, strike, tau or discount
  // Never produced here: implied_vol_surface (Python) and the American inversion mark prices
  // below their pricer's accuracy with it, and defining it here keeps all the codes in one place.
  kBelowPriceAccuracy = 4,
  // Never produced here: the American inversion (american.hpp) marks a price at its
  // early-exercise value for every volatility up to the one it would need with it.
  kEarlyExercise = 5,
  // The American inversion's root-finder did not meet its tolerance.
  kNoConvergence = 6,
  kNeedsIteration = -1,  // internal to reduce(): the price carries volatility information
};

struct Result {
  double value;
  Status status;
};

// Total standard deviation s = sigma*sqrt(tau) from a normalised out-of-the-money call price
// beta = b(x, s) with x <= 0, 0 < beta < b_max = exp(x/2) (passed in, as callers have it).
// Four-branch rational initial guess followed by two Householder(3) steps on branch-specific
// objectives. NaN when beta is outside (0, b_max).
double normalised_otm_total_vol(double beta, double x, double b_max);

// A price reduced to the normalised out-of-the-money call problem of the function above.
struct Problem {
  double beta, x, b_max;
};

// Reduces an undiscounted price to its Problem. Returns the final Result where the inputs
// already decide it (invalid, out of bounds, exactly intrinsic), else Status::kNeedsIteration.
Result reduce(double price, double forward, double strike, double tau, bool is_call, Problem& problem);

// normalised_otm_total_vol for n problems (NaN outside the domain), evaluated phase by phase
// over blocks of kBlockSize: the batch path, same results as the scalar function.
inline constexpr std::size_t kBlockSize = 64;
void normalised_otm_total_vols(const Problem* problems, std::size_t n, double* s);

// Implied Black volatility of an undiscounted price. Exactly intrinsic gives 0.
Result implied_vol(double price, double forward, double strike, double tau, bool is_call);

}  // namespace lbr
}  // namespace IVFAST_ISA
}  // namespace ivfast
