// Standard normal distribution primitives used by the Black and implied-volatility kernels.
#pragma once

#include "ivfast/isa.hpp"

namespace ivfast {
inline namespace IVFAST_ISA {
namespace normal {

inline constexpr double kSqrt2Pi = 2.50662827463100050241576528481104525;
inline constexpr double kInvSqrt2Pi = 0.398942280401432677939946059934381868;
inline constexpr double kInvSqrt2 = 0.707106781186547524400844362104849039;
inline constexpr double kSqrtPiOver2 = 1.25331413731550025120788264240552263;

// Scaled complementary error function exp(z^2) * erfc(z), accurate to a few ulp for all
// finite z (overflows to +inf below z ~ -26.6, as the true value does).
double erfcx(double z);

// Phi^{-1}(p) for 0 < p < 1 by Wichura's AS 241 (PPND16), relative accuracy ~1e-16.
// Returns -inf for p == 0, +inf for p == 1 and NaN outside [0, 1].
double inverse_cdf(double p);

}  // namespace normal
}  // namespace IVFAST_ISA
}  // namespace ivfast
