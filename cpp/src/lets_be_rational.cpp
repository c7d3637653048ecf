// Let's Be Rational, written from Jaeckel, P. (2015) "Let's be rational", Wilmott 2015(75),
// 40-53, and its 2016/2017 revision. Notation follows the paper: x = ln(F/K) <= 0 after the
// reduction to an out-of-the-money call, s = sigma*sqrt(tau), beta = b(x, s) normalised price,
// s_c = sqrt(2|x|) the inflection point of b in s, b_max = exp(x/2) its supremum.
#include "ivfast/lets_be_rational.hpp"

#include <algorithm>
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <cstring>
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

// Cube root to ~1e-15 for the initial guess, without glibc cbrt's frexp/ldexp. Dividing the
// exponent bits by three gives a first value within 3% once the bias is restored: the constant
// is (1023 - 1023/3 - 0.033) * 2^52 rounded, the offset that minimises that first error
// (W. Kahan's cube-root bit trick). Two Halley steps (cubic convergence) then give ~1e-15.
double guess_cbrt(double y) {
  if (!(y >= 1e-300) || std::isinf(y)) return std::cbrt(y);  // subnormals break the bit trick
  std::uint64_t bits;
  std::memcpy(&bits, &y, sizeof bits);
  bits = bits / 3 + (std::uint64_t{0x2A9F7893} << 32);
  double c;
  std::memcpy(&c, &bits, sizeof c);
  for (int i = 0; i < 2; ++i) {
    const double c3 = c * c * c;
    c *= (c3 + 2.0 * y) / (2.0 * c3 + y);
  }
  return c;
}

double inverse_lower_map(double f, double x) {
  const double ax = std::fabs(x);
  const double p = guess_cbrt(f * 3.0 * kSqrt3 / (kTwoPi * ax));
  const double z = normal::inverse_cdf(p);
  return ax / (kSqrt3 * -z);
}

// Upper map f(s) = Phi(-s/2), nearly linear in b_max - beta for large s. Phi(-s/2) is
// erfcx(s/(2 sqrt 2)) exp(-s^2/8) / 2, and that exponential also serves f''.
MapValue upper_map(double x, double s) {
  const double r = x * x / (s * s);
  const double e_s = std::exp(-0.125 * s * s), e_r = std::exp(0.5 * r);
  const double f = 0.5 * normal::erfcx(0.5 * s * normal::kInvSqrt2) * e_s;
  const double fp = -0.5 * e_r;
  const double fpp = normal::kSqrt2Pi * 0.5 * x * x / (s * s * s) * e_r * e_r / e_s;
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

// The step from s given b = b(x, s) and b1 = db/ds there (evaluated by the caller, so that the
// batch path can evaluate them for many rows first).
template <Objective objective>
double householder_step(double s, const Target& tg, double b, double b1) {
  const double inv_s = 1.0 / s, x2 = tg.x * tg.x;
  const double x2_inv_s3 = x2 * inv_s * inv_s * inv_s;
  const double q2 = x2_inv_s3 - 0.25 * s;
  const double q3 = q2 * q2 - 3.0 * x2_inv_s3 * inv_s - 0.25;
  double nu = 0.0, h2 = 0.0, h3 = 0.0;
  if constexpr (objective == Objective::kLower) {
    const double ell = std::log(b), inv_ell = 1.0 / ell;
    const double b_over_b1 = b / b1, u = 1.0 / b_over_b1;
    const double c = 1.0 + 2.0 * inv_ell;
    nu = ell * (1.0 - ell * tg.ln_beta_inv) * b_over_b1;
    h2 = q2 - u * c;
    h3 = q3 + u * u * (2.0 + 6.0 * inv_ell * (1.0 + inv_ell)) - 3.0 * q2 * u * c;
  } else if constexpr (objective == Objective::kMiddle) {
    nu = (tg.beta - b) / b1;
    h2 = q2;
    h3 = q3;
  } else {
    const double c = std::max(tg.b_max - b, std::numeric_limits<double>::min());
    const double c_over_b1 = c / b1, v = 1.0 / c_over_b1;
    nu = (std::log(c) - tg.ln_gap) * c_over_b1;
    h2 = q2 + v;
    h3 = q3 + 3.0 * q2 * v + 2.0 * v * v;
  }
  constexpr double kSixth = 1.0 / 6.0;
  const double ds = nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu * kSixth));
  if (!std::isfinite(ds)) return s;
  return std::max(s + ds, 0.5 * s);  // never step to or past zero
}

struct Guess {
  double s;
  Target target;
  Objective objective;
};

// The nodes of Jaeckel's four-branch initial guess: the inflection point s_c and, on beta's
// side of b_c, the tangent's intercept s_l (towards 0) or s_u (towards b_max), with b and
// db/ds at both.
struct Nodes {
  double s_c, b_c, v_c;
  double s_side, b_side, v_side;
};

Nodes inflection_nodes(double x, double b_max) {
  const double s_c = std::sqrt(2.0 * std::fabs(x));
  const auto [b_c, v_c] = black::normalised_otm_call_at_inflection(x, b_max);
  return {s_c, b_c, v_c, 0.0, 0.0, 0.0};
}

void add_side_node(double beta, double x, double b_max, Nodes& n) {
  n.s_side = beta < n.b_c ? n.s_c - n.b_c / n.v_c : n.s_c + (b_max - n.b_c) / n.v_c;
  const auto [b, v] = black::normalised_otm_call_and_vega(x, n.s_side, b_max);
  n.b_side = b;
  n.v_side = v;
}

// The rational cubic interpolation of the guess. For the lower and upper branches it
// interpolates the map f(beta), and g.s holds f until finish_guess inverts the map.
Guess interpolate(double beta, double x, double b_max, const Nodes& n) {
  Guess g{0.0, {beta, x, b_max, 0.0, 0.0}, Objective::kMiddle};
  if (beta < n.b_c) {
    const double s_l = n.s_side, b_l = n.b_side, v_l = n.v_side;
    if (beta < b_l) {
      const MapValue m = lower_map(x, s_l, v_l);
      const double r = control_parameter_right(0.0, b_l, 0.0, m.f, 1.0, m.fp, m.fpp);
      const double f = rational_cubic(beta, 0.0, b_l, 0.0, m.f, 1.0, m.fp, r);
      g.s = f > 0.0 ? f : beta;
      g.objective = Objective::kLower;
    } else {
      const double r = control_parameter_right(b_l, n.b_c, s_l, n.s_c, 1.0 / v_l, 1.0 / n.v_c, 0.0);
      g.s = rational_cubic(beta, b_l, n.b_c, s_l, n.s_c, 1.0 / v_l, 1.0 / n.v_c, r);
    }
  } else {
    const double s_u = n.s_side, b_u = n.b_side, v_u = n.v_side;
    if (beta <= b_u) {
      const double r = control_parameter_left(n.b_c, b_u, n.s_c, s_u, 1.0 / n.v_c, 1.0 / v_u, 0.0);
      g.s = rational_cubic(beta, n.b_c, b_u, n.s_c, s_u, 1.0 / n.v_c, 1.0 / v_u, r);
    } else {
      const MapValue m = upper_map(x, s_u);
      const double r = control_parameter_left(b_u, b_max, m.f, 0.0, m.fp, -0.5, m.fpp);
      const double f = rational_cubic(beta, b_u, b_max, m.f, 0.0, m.fp, -0.5, r);
      // f <= 0 only where beta is within rounding of b_max; Phi(-s/2) ~ (b_max - beta)/2 there.
      g.s = f > 0.0 ? f : 0.5 * (b_max - beta);
      g.objective = Objective::kUpper;
    }
  }
  return g;
}

// Inverts the branch's map (if any) and precomputes the objective's logarithm of beta.
void finish_guess(Guess& g, double s_c) {
  Target& t = g.target;
  if (g.objective == Objective::kLower) {
    g.s = inverse_lower_map(g.s, t.x);
    t.ln_beta_inv = 1.0 / std::log(t.beta);
  } else if (g.objective == Objective::kUpper) {
    g.s = -2.0 * normal::inverse_cdf(g.s);
    t.ln_gap = std::log(t.b_max - t.beta);
  }
  if (!(g.s > 0.0) || !std::isfinite(g.s)) g.s = s_c > 0.0 ? s_c : 1.0;
}

bool in_domain(const Problem& p) { return p.beta > 0.0 && p.beta < p.b_max; }

// One Householder step on the guess's branch objective, in place.
void step(Guess& g, const black::OtmCall& at_s) {
  switch (g.objective) {
    case Objective::kLower:
      g.s = householder_step<Objective::kLower>(g.s, g.target, at_s.b, at_s.vega);
      break;
    case Objective::kMiddle:
      g.s = householder_step<Objective::kMiddle>(g.s, g.target, at_s.b, at_s.vega);
      break;
    case Objective::kUpper:
      g.s = householder_step<Objective::kUpper>(g.s, g.target, at_s.b, at_s.vega);
      break;
  }
}

black::OtmCall evaluate(const Guess& g) { return black::normalised_otm_call_and_vega(g.target.x, g.s, g.target.b_max); }

// Two steps from Jaeckel's guess reach full accuracy everywhere (Jaeckel 2015, section 5).
constexpr int kHouseholderSteps = 2;

}  // namespace

double normalised_otm_total_vol(double beta, double x, double b_max) {
  const Problem p{beta, x, b_max};
  double s;
  normalised_otm_total_vols(&p, 1, &s);
  return s;
}

void normalised_otm_total_vols(const Problem* problems, std::size_t n, double* s) {
  // Phase by phase over the block: each loop body is short and its iterations independent, so
  // the out-of-order core overlaps neighbouring inversions that one long body would serialise.
  Nodes nodes[kBlockSize];
  Guess guesses[kBlockSize];
  black::OtmCall at_s[kBlockSize];
  for (std::size_t offset = 0; offset < n; offset += kBlockSize) {
    const std::size_t m = std::min(kBlockSize, n - offset);
    const Problem* p = problems + offset;
    for (std::size_t i = 0; i < m; ++i) nodes[i] = inflection_nodes(p[i].x, p[i].b_max);
    for (std::size_t i = 0; i < m; ++i) add_side_node(p[i].beta, p[i].x, p[i].b_max, nodes[i]);
    for (std::size_t i = 0; i < m; ++i) guesses[i] = interpolate(p[i].beta, p[i].x, p[i].b_max, nodes[i]);
    for (std::size_t i = 0; i < m; ++i) {
      if (in_domain(p[i])) {
        finish_guess(guesses[i], nodes[i].s_c);
      } else {
        guesses[i].s = kNaN;
      }
    }
    for (int k = 0; k < kHouseholderSteps; ++k) {
      for (std::size_t i = 0; i < m; ++i) at_s[i] = evaluate(guesses[i]);
      for (std::size_t i = 0; i < m; ++i) {
        if (!std::isnan(guesses[i].s)) step(guesses[i], at_s[i]);
      }
    }
    for (std::size_t i = 0; i < m; ++i) s[offset + i] = guesses[i].s;
  }
}

Result reduce(double price, double forward, double strike, double tau, bool is_call, Problem& problem) {
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
  problem.x = -std::fabs(std::log(forward / strike));
  problem.beta = (price - intrinsic) / (std::sqrt(forward) * std::sqrt(strike));
  // exp(x/2) = sqrt(min(F, K) / max(F, K)): a square root is cheaper than an exponential.
  problem.b_max = std::sqrt(std::fmin(forward, strike) / std::fmax(forward, strike));
  if (!(problem.beta < problem.b_max)) return {kNaN, Status::kAboveUpperBound};
  if (!(problem.beta > 0.0)) return {kNaN, Status::kBelowIntrinsic};
  return {kNaN, Status::kNeedsIteration};
}

Result implied_vol(double price, double forward, double strike, double tau, bool is_call) {
  Problem p{};
  const Result r = reduce(price, forward, strike, tau, is_call, p);
  if (r.status != Status::kNeedsIteration) return r;
  return {normalised_otm_total_vol(p.beta, p.x, p.b_max) / std::sqrt(tau), Status::kOk};
}

}  // namespace lbr
}  // namespace IVFAST_ISA
}  // namespace ivfast
