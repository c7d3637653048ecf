#include "ivfast/black.hpp"

#include <array>
#include <cmath>
#include <limits>

#include "ivfast/normal.hpp"

namespace ivfast {
inline namespace IVFAST_ISA {
namespace black {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Below this half-deviation t = s/2 the two Phi terms of b nearly cancel; b is then summed as
// a Taylor series in t (Jaeckel 2017, "small t expansion"), whose eighth term is below
// 1e-16 of the first for t < 0.21.
constexpr double kSmallT = 0.21;
// For h = x/s below this (|h| > 12), the moments I_k(h) of the series are taken from their asymptotic
// expansion in 1/h^2; above it, the forward recurrence loses at most ~h^2 relative digits,
// which the conditioning of the inverse problem (cond ~ 1/h^2) absorbs.
constexpr double kAsymptoticH = -12.0;
constexpr int kSeriesTerms = 8;  // odd moments I_1, I_3, ..., I_15
constexpr int kMaxAsymptoticTerms = 40;
// 1/(2m+2) for the asymptotic series' term ratio (avoids a division per term).
constexpr auto kInvEven = [] {
  std::array<double, kMaxAsymptoticTerms> a{};
  for (int m = 0; m < kMaxAsymptoticTerms; ++m) a[m] = 1.0 / (2.0 * m + 2.0);
  return a;
}();
// 1/(2j+1)! for j = 0..7.
constexpr double kInvOddFactorial[kSeriesTerms] = {
    1.0, 1.0 / 6.0, 1.0 / 120.0, 1.0 / 5040.0, 1.0 / 362880.0, 1.0 / 39916800.0, 1.0 / 6227020800.0,
    1.0 / 1307674368000.0};

// The t-series rests on the identity, with M(z) = Phi(z)/phi(z) = I_0(z),
//   M(h+t) - M(h-t) = 2 sum_j t^(2j+1) c_j,   c_j = I_(2j+1)(h) / (2j+1)!,
//   I_k(h) = int_0^inf u^k exp(h u - u^2/2) du.
// Moderate h: forward recurrence I_(k+1) = h I_k + k I_(k-1) from I_0 = M(h) (erfcx).
void scaled_moments_recurrence(double h, int terms, double* c) {
  double i_prev = normal::kSqrtPiOver2 * normal::erfcx(-h * normal::kInvSqrt2);  // I_0
  double i_curr = 1.0 + h * i_prev;                                                // I_1
  c[0] = i_curr;
  for (int k = 1; k < 2 * terms - 1; ++k) {
    const double i_next = h * i_curr + k * i_prev;
    i_prev = i_curr;
    i_curr = i_next;
    if (k % 2 == 0) c[k / 2] = i_curr * kInvOddFactorial[k / 2];
  }
}

// Very negative h: c_j = I_(2j+1)(h)/(2j+1)! from the asymptotic expansion
//   I_k(h) = sum_m (-1)^m (k+2m)! / (2^m m!) / |h|^(k+2m+1),
// whose terms first shrink by (k+2m+1)(k+2m+2)/(2(m+1)h^2) < 1 for |h| >= 10. Moment j enters
// the t-series with weight ~ (t/h)^(2j) relative to the first, so it needs only that much
// less relative accuracy, and moments whose weight is below 1e-17 are skipped (left zero).
void scaled_moments_asymptotic(double h, double t, int terms, double* c) {
  const double inv_a2 = 1.0 / (h * h);
  const double weight_step = t * t * inv_a2;
  double weight = 1.0, scale = inv_a2;  // scale = |h|^-(k+1) for k = 1
  for (int j = 0; j < terms; ++j) {
    c[j] = 0.0;
    if (weight < 1e-17) continue;
    const double k = 2.0 * j + 1.0;
    const double tolerance = 1e-17 / weight;
    double term = 1.0, sum = 1.0;
    for (int m = 0; m < kMaxAsymptoticTerms; ++m) {
      const double next = -term * (k + 2.0 * m + 1.0) * (k + 2.0 * m + 2.0) * inv_a2 * kInvEven[m];
      if (std::fabs(next) >= std::fabs(term)) break;
      term = next;
      sum += term;
      if (std::fabs(term) < tolerance * std::fabs(sum)) break;
    }
    c[j] = scale * sum;
    scale *= inv_a2;
    weight *= weight_step;
  }
}

// b and db/ds share the factor exp(-(h^2+t^2)/2)/sqrt(2 pi), which *is* db/ds.
OtmCall small_t_series(double h, double t) {
  // Terms needed for 1e-17 relative truncation error; the worst case (largest c_j/c_0) is h = 0
  // where c_j = 2^j j!/(2j+1)!.
  const int terms = t < 0.01 ? 4 : t < 0.05 ? 5 : t < 0.1 ? 6 : t < 0.14 ? 7 : kSeriesTerms;
  double c[kSeriesTerms];
  if (h < kAsymptoticH) {
    scaled_moments_asymptotic(h, t, terms, c);
  } else {
    scaled_moments_recurrence(h, terms, c);
  }
  const double t2 = t * t;
  double sum = c[terms - 1];
  for (int j = terms - 2; j >= 0; --j) sum = sum * t2 + c[j];
  const double vega = normal::kInvSqrt2Pi * std::exp(-0.5 * (h * h + t2));
  return {vega * 2.0 * t * sum, vega};
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

namespace {

// exp_half_x() yields exp(x/2); it is only called on the branch that needs it.
template <class ExpHalfX>
OtmCall otm_call_and_vega(double x, double s, ExpHalfX exp_half_x) {
  if (std::isnan(x) || std::isnan(s)) return {kNaN, kNaN};
  if (s <= 0.0) return {0.0, normalised_vega(x, s)};
  if (std::isinf(s)) return {exp_half_x(), 0.0};
  const double h = x / s, t = 0.5 * s;
  if (x == 0.0) return {std::erf(t * normal::kInvSqrt2), normal::kInvSqrt2Pi * std::exp(-0.5 * t * t)};  // 2 Phi(t) - 1
  if (t < kSmallT) return small_t_series(h, t);
  const double vega = normal::kInvSqrt2Pi * std::exp(-0.5 * (h * h + t * t));
  if (h + t < 1.0) {
    // With the common factor exp(-(h^2+t^2)/2) taken out, erfcx keeps relative accuracy where
    // exp(x/2) Phi(h+t) itself would underflow (h+t << 0).
    const double a = normal::erfcx(-(h + t) * normal::kInvSqrt2);
    const double b = normal::erfcx(-(h - t) * normal::kInvSqrt2);
    return {normal::kSqrtPiOver2 * vega * (a - b), vega};
  }
  // h+t >= 1: b = exp(x/2) - [exp(x/2) Phi(-(h+t)) + exp(-x/2) Phi(h-t)], where the bracket is
  // below a third of exp(x/2), so the subtraction loses less than a bit.
  const double tails = normal::erfcx((h + t) * normal::kInvSqrt2) + normal::erfcx((t - h) * normal::kInvSqrt2);
  return {exp_half_x() - normal::kSqrtPiOver2 * vega * tails, vega};
}

}  // namespace

OtmCall normalised_otm_call_and_vega(double x, double s) {
  return otm_call_and_vega(x, s, [x] { return std::exp(0.5 * x); });
}

OtmCall normalised_otm_call_and_vega(double x, double s, double b_max) {
  return otm_call_and_vega(x, s, [b_max] { return b_max; });
}

OtmCall normalised_otm_call_at_inflection(double x, double b_max) {
  const double root = std::sqrt(std::fabs(x));  // sqrt|x| = s_c / sqrt(2) = sqrt(2) t
  // Below kSmallT the closed form's 1 - erfcx cancels; the t-series does not.
  if (!(root * normal::kInvSqrt2 >= kSmallT)) {
    return normalised_otm_call_and_vega(x, 2.0 * normal::kInvSqrt2 * root, b_max);
  }
  const double vega = normal::kInvSqrt2Pi * b_max;
  return {0.5 * b_max * (1.0 - normal::erfcx(root)), vega};
}

double normalised_otm_call(double x, double s) { return normalised_otm_call_and_vega(x, s).b; }

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

}  // namespace black
}  // namespace IVFAST_ISA
}  // namespace ivfast
