#include "ivfast/black.hpp"

#include <cmath>
#include <limits>

#include "ivfast/normal.hpp"

namespace ivfast::black {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Below this half-deviation t = s/2 the two Phi terms of b nearly cancel; b is then summed as
// a Taylor series in t (Jaeckel 2017, "small t expansion"), whose eighth term is below
// 1e-16 of the first for t < 0.21.
constexpr double kSmallT = 0.21;
// For h = x/s below this, the moments I_k(h) of the series are taken from their asymptotic
// expansion in 1/h^2; above it, the forward recurrence loses at most ~h^2 relative digits,
// which the conditioning of the inverse problem (cond ~ 1/h^2) absorbs.
constexpr double kAsymptoticH = -10.0;
constexpr int kSeriesTerms = 8;  // odd moments I_1, I_3, ..., I_15

// Odd moments I_k(h) = int_0^inf u^k exp(h u - u^2/2) du, k = 1, 3, ..., of the identity
//   M(h+t) - M(h-t) = 2 sum_j t^(2j+1)/(2j+1)! I_(2j+1)(h),   M(z) = Phi(z)/phi(z) = I_0(z).
// Moderate h: forward recurrence I_(k+1) = h I_k + k I_(k-1) from I_0 = M(h).
void odd_moments_recurrence(double h, double* odd) {
  double i_prev = normal::kSqrtPiOver2 * normal::erfcx(-h * normal::kInvSqrt2);  // I_0
  double i_curr = 1.0 + h * i_prev;                                                // I_1
  odd[0] = i_curr;
  for (int k = 1; k < 2 * kSeriesTerms - 1; ++k) {
    const double i_next = h * i_curr + k * i_prev;
    i_prev = i_curr;
    i_curr = i_next;
    if (k % 2 == 0) odd[k / 2] = i_curr;
  }
}

// Very negative h: I_k(h) = sum_m (-1)^m (k+2m)! / (2^m m!) / |h|^(k+2m+1), summed until the
// terms stop shrinking (they first shrink by ~ (k+2m)^2 / (2 m h^2) < 1 for |h| >= 10).
void odd_moments_asymptotic(double h, double* odd) {
  const double a = -h, inv_a2 = 1.0 / (a * a);
  double leading = 1.0 / (a * a);  // k!/|h|^(k+1) for k = 1
  for (int j = 0; j < kSeriesTerms; ++j) {
    const int k = 2 * j + 1;
    if (j > 0) leading *= (k - 1.0) * k * inv_a2;
    double term = 1.0, sum = 1.0;
    for (int m = 0; m < 60; ++m) {
      const double next = -term * (k + 2.0 * m + 1.0) * (k + 2.0 * m + 2.0) * 0.5 / (m + 1.0) * inv_a2;
      if (std::fabs(next) >= std::fabs(term)) break;
      term = next;
      sum += term;
      if (std::fabs(term) < 1e-17 * std::fabs(sum)) break;
    }
    odd[j] = leading * sum;
  }
}

double small_t_series(double h, double t) {
  double odd[kSeriesTerms];
  if (h < kAsymptoticH) {
    odd_moments_asymptotic(h, odd);
  } else {
    odd_moments_recurrence(h, odd);
  }
  const double t2 = t * t;
  // Horner in t^2 over c_j = I_(2j+1)/(2j+1)!.
  double factorial = 1.0;
  double coeff[kSeriesTerms];
  for (int j = 0; j < kSeriesTerms; ++j) {
    if (j > 0) factorial *= (2.0 * j) * (2.0 * j + 1.0);
    coeff[j] = odd[j] / factorial;
  }
  double sum = coeff[kSeriesTerms - 1];
  for (int j = kSeriesTerms - 2; j >= 0; --j) sum = sum * t2 + coeff[j];
  // b = phi-prefactor * (M(h+t) - M(h-t)) with the common factor exp(-(h^2+t^2)/2)/sqrt(2 pi).
  return normal::kInvSqrt2Pi * std::exp(-0.5 * (h * h + t2)) * 2.0 * t * sum;
}

}  // namespace

double normalised_vega(double x, double s) {
  if (s <= 0.0) return x == 0.0 ? normal::kInvSqrt2Pi : 0.0;
  const double h = x / s, t = 0.5 * s;
  return normal::kInvSqrt2Pi * std::exp(-0.5 * (h * h + t * t));
}

double normalised_intrinsic(double x, double theta) {
  if (theta * x <= 0.0) return 0.0;
  return 2.0 * std::sinh(0.5 * std::fabs(x));  // no cancellation for small x
}

double normalised_otm_call(double x, double s) {
  if (std::isnan(x) || std::isnan(s)) return kNaN;
  if (s <= 0.0) return 0.0;
  if (x == 0.0) return std::erf(0.5 * s * normal::kInvSqrt2);  // 2 Phi(s/2) - 1
  if (std::isinf(s)) return std::exp(0.5 * x);
  const double h = x / s, t = 0.5 * s;
  if (t < kSmallT) return small_t_series(h, t);
  if (h + t < 0.0) {
    // Both Phi arguments negative: factor out exp(-(h^2+t^2)/2) and use erfcx, which keeps
    // relative accuracy where exp(x/2) Phi(h+t) itself would underflow.
    const double a = normal::erfcx(-(h + t) * normal::kInvSqrt2);
    const double b = normal::erfcx(-(h - t) * normal::kInvSqrt2);
    return 0.5 * std::exp(-0.5 * (h * h + t * t)) * (a - b);
  }
  // t >= |h|: the call term dominates and there is no harmful cancellation.
  return std::exp(0.5 * x) * normal::cdf(h + t) - std::exp(-0.5 * x) * normal::cdf(h - t);
}

double normalised_black(double x, double s, double theta) {
  // Put-call symmetry: the out-of-the-money member is a call at -|x|; add intrinsic for ITM.
  return normalised_otm_call(-std::fabs(x), s) + normalised_intrinsic(x, theta);
}

double price(double forward, double strike, double tau, double sigma, bool is_call) {
  if (!(forward > 0.0) || !(strike > 0.0) || !(tau > 0.0) || !(sigma >= 0.0) || std::isinf(forward) ||
      std::isinf(strike) || std::isinf(tau) || std::isinf(sigma)) {
    return kNaN;
  }
  const double theta = is_call ? 1.0 : -1.0;
  const double intrinsic = std::fmax(theta * (forward - strike), 0.0);
  const double x = std::log(forward / strike);
  const double s = sigma * std::sqrt(tau);
  return std::sqrt(forward) * std::sqrt(strike) * normalised_otm_call(-std::fabs(x), s) + intrinsic;
}

double vega(double forward, double strike, double tau, double sigma) {
  if (!(forward > 0.0) || !(strike > 0.0) || !(tau > 0.0) || !(sigma >= 0.0) || std::isinf(forward) ||
      std::isinf(strike) || std::isinf(tau) || std::isinf(sigma)) {
    return kNaN;
  }
  const double x = std::log(forward / strike);
  const double sqrt_tau = std::sqrt(tau);
  return std::sqrt(forward) * std::sqrt(strike) * normalised_vega(x, sigma * sqrt_tau) * sqrt_tau;
}

}  // namespace ivfast::black
