// Black-76 on forwards, in price units and in Jaeckel's normalised form.
//
// Conventions: F forward, K strike, tau year fraction, sigma annualised volatility,
// s = sigma*sqrt(tau) total standard deviation, x = ln(F/K) log-moneyness (forward over
// strike), theta = +1 for calls and -1 for puts. Prices are undiscounted unless a function
// says otherwise; the normalised price is beta = price / sqrt(F*K).
#pragma once

#include "ivfast/isa.hpp"

namespace ivfast {
inline namespace IVFAST_ISA {
namespace black {

// Normalised out-of-the-money call b(x, s) for x <= 0:
//   b = exp(x/2) Phi(x/s + s/2) - exp(-x/2) Phi(x/s - s/2),
// evaluated with relative accuracy that stays close to the problem's conditioning even where
// b underflows the naive formula (deep out of the money) or cancels (small s).
double normalised_otm_call(double x, double s);

// b(x, s) together with db/ds, sharing their common exponential factor.
struct OtmCall {
  double b, vega;
};
OtmCall normalised_otm_call_and_vega(double x, double s);

// The same with b_max = exp(x/2) supplied by a caller that evaluates many s for one x (the
// implied-vol iteration), saving an exponential per call.
OtmCall normalised_otm_call_and_vega(double x, double s, double b_max);

// b and db/ds at the inflection point s_c = sqrt(2|x|) of b in s, given b_max = exp(x/2).
// There h = x/s = -s/2, so db/ds = b_max/sqrt(2 pi) and b = b_max (1 - erfcx(sqrt|x|)) / 2
// need one erfcx and no exponential (a series evaluation replaces it where s_c is small).
OtmCall normalised_otm_call_at_inflection(double x, double b_max);

// Normalised vega db/ds = phi(x/s + s/2) * exp(x/2) = exp(-x^2/(2 s^2) - s^2/8) / sqrt(2 pi).
double normalised_vega(double x, double s);

// Normalised intrinsic value theta*(exp(x/2) - exp(-x/2)) floored at zero.
double normalised_intrinsic(double x, double theta);

// Normalised Black price of a call (theta = +1) or put (theta = -1) for any x.
double normalised_black(double x, double s, double theta);

// Undiscounted Black-76 price; NaN for invalid inputs (non-positive F, K, tau; negative or
// non-finite sigma). sigma == 0 gives the intrinsic value.
double price(double forward, double strike, double tau, double sigma, bool is_call);

// Undiscounted Black-76 vega dPrice/dsigma (same for calls and puts).
double vega(double forward, double strike, double tau, double sigma);

}  // namespace black
}  // namespace IVFAST_ISA
}  // namespace ivfast
