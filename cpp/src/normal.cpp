#include "ivfast/normal.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>

namespace ivfast {
inline namespace IVFAST_ISA {
namespace normal {

namespace {

// Polynomial c[0] + c[1] z + ... + c[N-1] z^(N-1) by Estrin's scheme: pairs c[2i] + c[2i+1] z are
// combined with z^2, then z^4, ..., so the dependency chain is ~log2(N) multiply-adds long
// instead of Horner's N - 1. The kernels are latency-bound, and these rationals dominate them.
template <std::size_t N>
constexpr std::array<double, (N + 1) / 2> pairwise(double z, const std::array<double, N>& c) {
  std::array<double, (N + 1) / 2> out{};
#pragma GCC unroll 8
  for (std::size_t i = 0; i < N / 2; ++i) out[i] = c[2 * i] + c[2 * i + 1] * z;
  if constexpr (N % 2 == 1) out[N / 2] = c[N - 1];
  return out;
}

template <std::size_t N>
constexpr double estrin(double z, const std::array<double, N>& c) {
  if constexpr (N == 1) {
    return c[0];
  } else {
    return estrin(z * z, pairwise(z, c));
  }
}

// exp(z^2) with z^2 split into an exact head and tail, so the rounding of z*z (relative
// error eps, absolute error eps*z^2 in the exponent) does not cost eps*z^2 relative accuracy.
double exp_of_square(double z) {
  // Veltkamp split z = hi + lo (hi with 26 significant bits) makes hi*hi, hi*lo, lo*lo exact,
  // so z^2 = head + tail exactly; portable and branch-free, unlike a libm fma call.
  constexpr double kSplitter = 134217729.0;  // 2^27 + 1
  const double c = kSplitter * z;
  const double hi = c - (c - z), lo = z - hi;
  const double head = z * z;
  const double tail = ((hi * hi - head) + 2.0 * hi * lo) + lo * lo;
  return std::exp(head) * (1.0 + tail);
}

// W. J. Cody (1969), "Rational Chebyshev approximations for the error function", Math. Comp.
// 23(107), 631-637: tables II-IV (published coefficients), lowest degree first.
// erf(z) = z P(z^2)/Q(z^2) for |z| <= 0.5.
double erf_small(double z) {
  static constexpr std::array<double, 5> kNum{3.209377589138469472562e3, 3.774852376853020208137e2,
                                              1.138641541510501556495e2, 3.161123743870565596947e0,
                                              1.857777061846031526730e-1};
  static constexpr std::array<double, 5> kDen{2.844236833439170622273e3, 1.282616526077372275645e3,
                                              2.440246379344441733056e2, 2.360129095234412093499e1, 1.0};
  const double y = z * z;
  return z * estrin(y, kNum) / estrin(y, kDen);
}

// erfcx(z) = P(z)/Q(z) for 0.5 <= z <= 4.
double erfcx_mid(double z) {
  static constexpr std::array<double, 9> kNum{
      1.23033935479799725272e3, 2.05107837782607146532e3, 1.71204761263407058314e3,
      8.81952221241769090411e2, 2.98635138197400131132e2, 6.61191906371416294775e1,
      8.88314979438837594118e0, 5.64188496988670089180e-1, 2.15311535474403846343e-8};
  static constexpr std::array<double, 9> kDen{
      1.23033935480374942043e3, 3.43936767414372163696e3, 4.36261909014324715820e3,
      3.29079923573345962678e3, 1.62138957456669018874e3, 5.37181101862009857509e2,
      1.17693950891312499305e2, 1.57449261107098347253e1, 1.0};
  return estrin(z, kNum) / estrin(z, kDen);
}

// erfcx(z) = (1/sqrt(pi) - y P(y)/Q(y)) / z with y = 1/z^2, for z >= 4.
double erfcx_large(double z) {
  constexpr double kInvSqrtPi = 0.564189583547756286948079451560772586;
  static constexpr std::array<double, 6> kNum{6.58749161529837803157e-4, 1.60837851487422766278e-2,
                                              1.25781726111229246204e-1, 3.60344899949804439429e-1,
                                              3.05326634961232344035e-1, 1.63153871373020978498e-2};
  static constexpr std::array<double, 6> kDen{2.33520497626869185443e-3, 6.05183413124413191178e-2,
                                              5.27905102951428412248e-1, 1.87295284992346047209e0,
                                              2.56852019228982242072e0, 1.0};
  const double y = 1.0 / (z * z);
  return (kInvSqrtPi - y * estrin(y, kNum) / estrin(y, kDen)) / z;
}

}  // namespace

double erfcx(double z) {
  if (z >= 4.0) return erfcx_large(z);
  if (z >= 0.5) return erfcx_mid(z);
  if (z > -0.5) return std::exp(z * z) * (1.0 - erf_small(z));
  if (std::isnan(z)) return z;
  // erfc(z) = 2 - erfc(-z) for negative z: no cancellation, both terms positive.
  if (z < -26.6) return std::numeric_limits<double>::infinity();
  return 2.0 * exp_of_square(z) - erfcx(-z);
}

double inverse_cdf(double p) {
  // Wichura, M. J. (1988). Algorithm AS 241: The percentage points of the normal
  // distribution. Applied Statistics 37(3), 477-484. Coefficients of PPND16 (published values).
  if (std::isnan(p) || p < 0.0 || p > 1.0) return std::numeric_limits<double>::quiet_NaN();
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  static constexpr std::array<double, 8> kCentralNum{
      3.3871328727963666080e0, 1.3314166789178437745e2, 1.9715909503065514427e3, 1.3731693765509461125e4,
      4.5921953931549871457e4, 6.7265770927008700853e4, 3.3430575583588128105e4, 2.5090809287301226727e3};
  static constexpr std::array<double, 8> kCentralDen{
      1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
      2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4, 5.2264952788528545610e3};
  static constexpr std::array<double, 8> kNearNum{
      1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0, 3.64784832476320460504e0,
      1.27045825245236838258e0, 2.41780725177450611770e-1, 2.27238449892691845833e-2, 7.74545014278341407640e-4};
  static constexpr std::array<double, 8> kNearDen{
      1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
      1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4, 1.05075007164441684324e-9};
  static constexpr std::array<double, 8> kTailNum{
      6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0, 2.96560571828504891230e-1,
      2.65321895265761230930e-2, 1.24266094738807843860e-3, 2.71155556874348757815e-5, 2.01033439929228813265e-7};
  static constexpr std::array<double, 8> kTailDen{
      1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
      7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7, 2.04426310338993978564e-15};
  const double q = p - 0.5;
  if (std::fabs(q) <= 0.425) {
    const double r = 0.180625 - q * q;
    return q * estrin(r, kCentralNum) / estrin(r, kCentralDen);
  }
  const double r = std::sqrt(-std::log(q < 0.0 ? p : 1.0 - p));
  const double z = r <= 5.0 ? estrin(r - 1.6, kNearNum) / estrin(r - 1.6, kNearDen)
                            : estrin(r - 5.0, kTailNum) / estrin(r - 5.0, kTailDen);
  return q < 0.0 ? -z : z;
}

}  // namespace normal
}  // namespace IVFAST_ISA
}  // namespace ivfast
