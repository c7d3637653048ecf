// Let's Be Rational, written from Jaeckel, P. (2015) "Let's be rational", Wilmott 2015(75),
// 40-53, and its 2016/2017 revision. Notation follows the paper: x = ln(F/K) <= 0 after the
// reduction to an out-of-the-money call, s = sigma*sqrt(tau), beta = b(x, s) normalised price,
// s_c = sqrt(2|x|) the inflection point of b in s, b_max = exp(x/2) its supremum.
#include "ivfast/lets_be_rational.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ivfast/black.hpp"
#include "ivfast/normal.hpp"

namespace ivfast {
inline namespace IVFAST_ISA {
namespace lbr {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSqrt3 = 1.73205080756887729352744634150587237;
constexpr double kTwoPi = 6.28318530717958647692528676655900577;
constexpr int kHouseholderSteps = 2;

// Delbourgo & Gregory (1985) rational cubic through (xl, yl, dl) and (xr, yr, dr) with
// control parameter r (r = 3 is the cubic Hermite interpolant).
double rational_cubic(double x, double xl, double xr, double yl, double yr, double dl, double dr, double r) {
  const double h = xr - xl;
  if (!(h > 0.0)) return 0.5 * (yl + yr);
  const double t = (x - xl) / h, omt = 1.0 - t;
  const double t2 = t * t, omt2 = omt * omt;
  const double num = yr * t2 * t + (r * yr - h * dr) * t2 * omt + (r * yl + h * dl) * t * omt2 + yl * omt2 * omt;
  return num / (1.0 + (r - 3.0) * t * omt);
}

// Smallest r that keeps the interpolant monotone (r >= (dl+dr)/D) and, for convex or concave
// data, of one curvature sign at both ends (y''(xl), y''(xr) of the data's sign).
double minimum_control_parameter(double dl, double dr, double slope) {
  double r_min = 0.0;
  const bool monotone = dl * slope >= 0.0 && dr * slope >= 0.0;
  if (monotone && slope != 0.0) r_min = (dl + dr) / slope;
  const bool convex = dl <= slope && slope <= dr;
  const bool concave = dl >= slope && slope >= dr;
  if ((convex || concave) && dl != dr) {
    const double a = (dr - dl) / (slope - dl), b = (dr - dl) / (dr - slope);
    if (std::isfinite(a)) r_min = std::max(r_min, a);
    if (std::isfinite(b)) r_min = std::max(r_min, b);
  }
  return r_min;
}

// r such that the interpolant has second derivative d2 at the left (right) node, clamped to
// the shape-preserving minimum.
double control_parameter_left(double xl, double xr, double yl, double yr, double dl, double dr, double d2) {
  const double h = xr - xl, slope = (yr - yl) / h;
  const double r = (0.5 * h * d2 + (dr - dl)) / (slope - dl);
  const double r_min = minimum_control_parameter(dl, dr, slope);
  return std::isfinite(r) ? std::max(r, r_min) : r_min;
}

double control_parameter_right(double xl, double xr, double yl, double yr, double dl, double dr, double d2) {
  const double h = xr - xl, slope = (yr - yl) / h;
  const double r = (0.5 * h * d2 + (dr - dl)) / (dr - slope);
  const double r_min = minimum_control_parameter(dl, dr, slope);
  return std::isfinite(r) ? std::max(r, r_min) : r_min;
}

// Lower map f(s) = 2 pi |x| / (3 sqrt 3) * Phi(z)^3, z = x/(sqrt(3) s): f(b) ~ b for b -> 0,
// which makes f nearly linear in beta on [0, b_l]. Returns f and df/dbeta, d2f/dbeta2.
struct MapValue {
  double f, fp, fpp;
};

MapValue lower_map(double x, double s, double vega) {
  const double z = x / (kSqrt3 * s), y = z * z;
  // exp(y + s^2/8) and phi(z) exp(y + s^2/8) from two exponentials, and Phi(z) through erfcx
  // with the same exp(y/2): the guess needs no more accuracy than this and the map is hot.
  const double e_half = std::exp(0.5 * y), e_s = std::exp(0.125 * s * s);
  const double growth = e_half * e_half * e_s;
  const double phi_growth = normal::kInvSqrt2Pi * e_half * e_s;
  const double p = 0.5 * normal::erfcx(-z * normal::kInvSqrt2) / e_half;
  const double fp = kTwoPi * y * p * p * growth;
  // d(fp)/ds with dy/ds = -2y/s, dz/ds = -z/s, then divided by db/ds = vega.
  const double dfp_ds = kTwoPi * p * (y * p * growth * (-2.0 / s - 2.0 * y / s + 0.25 * s) - 2.0 * y * z * phi_growth / s);
  const double f = kTwoPi * std::fabs(x) / (3.0 * kSqrt3) * p * p * p;
  return {f, fp, dfp_ds / vega};
}

double inverse_lower_map(double f, double x) {
  const double ax = std::fabs(x);
  const double p = std::cbrt(f * 3.0 * kSqrt3 / (kTwoPi * ax));
  const double z = normal::inverse_cdf(p);
  return ax / (kSqrt3 * -z);
}

// Upper map f(s) = Phi(-s/2), nearly linear in b_max - beta for large s.
MapValue upper_map(double x, double s) {
  const double r = x * x / (s * s);
  const double f = normal::cdf(-0.5 * s);
  const double fp = -0.5 * std::exp(0.5 * r);
  const double fpp = normal::kSqrt2Pi * 0.5 * x * x / (s * s * s) * std::exp(r + 0.125 * s * s);
  return {f, fp, fpp};
}

enum class Objective { kLower, kMiddle, kUpper };

// One Householder(3) step on g(s) = 1/ln b - 1/ln beta (lower), b - beta (middle) or
// ln((b_max - beta)/(b_max - b)) (upper), with h2 = g''/g' and h3 = g'''/g' built from
// q2 = b''/b' and q3 = b'''/b'. Divisions dominate the step's latency, so they are kept to a
// minimum and the target's logarithms come precomputed in Target.
struct Target {
  double beta, x, b_max;
  double ln_beta_inv;  // 1/ln(beta), lower objective
  double ln_gap;       // ln(b_max - beta), upper objective
};

double householder_step(double s, const Target& tg, Objective objective) {
  const auto [b, b1] = black::normalised_otm_call_and_vega(tg.x, s);
  const double inv_s = 1.0 / s, x2 = tg.x * tg.x;
  const double x2_inv_s3 = x2 * inv_s * inv_s * inv_s;
  const double q2 = x2_inv_s3 - 0.25 * s;
  const double q3 = q2 * q2 - 3.0 * x2_inv_s3 * inv_s - 0.25;
  double nu, h2, h3;
  switch (objective) {
    case Objective::kLower: {
      const double ell = std::log(b), inv_ell = 1.0 / ell;
      const double b_over_b1 = b / b1, u = 1.0 / b_over_b1;
      const double c = 1.0 + 2.0 * inv_ell;
      nu = ell * (1.0 - ell * tg.ln_beta_inv) * b_over_b1;
      h2 = q2 - u * c;
      h3 = q3 + u * u * (2.0 + 6.0 * inv_ell * (1.0 + inv_ell)) - 3.0 * q2 * u * c;
      break;
    }
    case Objective::kMiddle:
      nu = (tg.beta - b) / b1;
      h2 = q2;
      h3 = q3;
      break;
    case Objective::kUpper: {
      const double c = std::max(tg.b_max - b, std::numeric_limits<double>::min());
      const double c_over_b1 = c / b1, v = 1.0 / c_over_b1;
      nu = (std::log(c) - tg.ln_gap) * c_over_b1;
      h2 = q2 + v;
      h3 = q3 + 3.0 * q2 * v + 2.0 * v * v;
      break;
    }
  }
  constexpr double kSixth = 1.0 / 6.0;
  const double ds = nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu * kSixth));
  if (!std::isfinite(ds)) return s;
  return std::max(s + ds, 0.5 * s);  // never step to or past zero
}

}  // namespace

double normalised_otm_total_vol(double beta, double x, double b_max) {
  if (!(beta > 0.0) || !(beta < b_max)) return kNaN;
  const double s_c = std::sqrt(2.0 * std::fabs(x));
  const auto [b_c, v_c] = black::normalised_otm_call_and_vega(x, s_c);
  double s;
  Objective objective = Objective::kMiddle;
  if (beta < b_c) {
    const double s_l = s_c - b_c / v_c;
    const auto [b_l, v_l] = black::normalised_otm_call_and_vega(x, s_l);
    if (beta < b_l) {
      const MapValue m = lower_map(x, s_l, v_l);
      const double r = control_parameter_right(0.0, b_l, 0.0, m.f, 1.0, m.fp, m.fpp);
      const double f = rational_cubic(beta, 0.0, b_l, 0.0, m.f, 1.0, m.fp, r);
      s = f > 0.0 ? inverse_lower_map(f, x) : inverse_lower_map(beta, x);
      objective = Objective::kLower;
    } else {
      const double r = control_parameter_right(b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, 0.0);
      s = rational_cubic(beta, b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, r);
    }
  } else {
    const double s_u = s_c + (b_max - b_c) / v_c;
    const auto [b_u, v_u] = black::normalised_otm_call_and_vega(x, s_u);
    if (beta <= b_u) {
      const double r = control_parameter_left(b_c, b_u, s_c, s_u, 1.0 / v_c, 1.0 / v_u, 0.0);
      s = rational_cubic(beta, b_c, b_u, s_c, s_u, 1.0 / v_c, 1.0 / v_u, r);
    } else {
      const MapValue m = upper_map(x, s_u);
      const double r = control_parameter_left(b_u, b_max, m.f, 0.0, m.fp, -0.5, m.fpp);
      const double f = rational_cubic(beta, b_u, b_max, m.f, 0.0, m.fp, -0.5, r);
      // f <= 0 only where beta is within rounding of b_max; Phi(-s/2) ~ (b_max - beta)/2 there.
      const double f_safe = f > 0.0 ? f : 0.5 * (b_max - beta);
      s = -2.0 * normal::inverse_cdf(f_safe);
      objective = Objective::kUpper;
    }
  }
  if (!(s > 0.0) || !std::isfinite(s)) s = s_c > 0.0 ? s_c : 1.0;
  const Target target{beta, x, b_max, objective == Objective::kLower ? 1.0 / std::log(beta) : 0.0,
                      objective == Objective::kUpper ? std::log(b_max - beta) : 0.0};
  for (int i = 0; i < kHouseholderSteps; ++i) s = householder_step(s, target, objective);
  return s;
}

Result implied_vol(double price, double forward, double strike, double tau, bool is_call) {
  const bool finite = std::isfinite(price) && std::isfinite(forward) && std::isfinite(strike) && std::isfinite(tau);
  if (!finite || !(price > 0.0) || !(forward > 0.0) || !(strike > 0.0) || !(tau > 0.0)) {
    return {kNaN, Status::kInvalidInput};
  }
  const double intrinsic = std::max(is_call ? forward - strike : strike - forward, 0.0);
  const double upper = is_call ? forward : strike;
  if (price < intrinsic) return {kNaN, Status::kBelowIntrinsic};
  if (price >= upper) return {kNaN, Status::kAboveUpperBound};
  if (price == intrinsic) return {0.0, Status::kOk};
  // Invert the out-of-the-money member: a call at x = -|ln(F/K)|, after removing intrinsic.
  const double x = -std::fabs(std::log(forward / strike));
  const double beta = (price - intrinsic) / (std::sqrt(forward) * std::sqrt(strike));
  // exp(x/2) = sqrt(min(F, K) / max(F, K)): a square root is cheaper than an exponential.
  const double b_max = std::sqrt(std::fmin(forward, strike) / std::fmax(forward, strike));
  if (!(beta < b_max)) return {kNaN, Status::kAboveUpperBound};
  if (!(beta > 0.0)) return {kNaN, Status::kBelowIntrinsic};
  const double s = normalised_otm_total_vol(beta, x, b_max);
  return {s / std::sqrt(tau), Status::kOk};
}

}  // namespace lbr
}  // namespace IVFAST_ISA
}  // namespace ivfast
