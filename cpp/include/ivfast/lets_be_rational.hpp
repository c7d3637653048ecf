// Implied volatility by Jaeckel's "Let's Be Rational" (Wilmott 2015; revised 2016/2017).
#pragma once

#include "ivfast/isa.hpp"

#include <cstdint>

namespace ivfast {
inline namespace IVFAST_ISA {
namespace lbr {

// Per-element outcome of an inversion. Values are part of the Python API (ivfast.IVStatus).
enum class Status : std::int8_t {
  kOk = 0,
  kBelowIntrinsic = 1,   // price < intrinsic value: no volatility reproduces it
  kAboveUpperBound = 2,  // price >= F (calls) or >= K (puts), undiscounted
  kInvalidInput = 3,     // non-positive or non-finite price, forward, strike, tau or discount
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

// Implied Black volatility of an undiscounted price. Exactly intrinsic gives 0.
Result implied_vol(double price, double forward, double strike, double tau, bool is_call);

}  // namespace lbr
}  // namespace IVFAST_ISA
}  // namespace ivfast
