#include "ivfast/normal.hpp"

#include <cmath>
#include <limits>

namespace ivfast {
inline namespace IVFAST_ISA {
namespace normal {

double pdf(double z) { return kInvSqrt2Pi * std::exp(-0.5 * z * z); }

namespace {

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
// 23(107), 631-637: tables II-IV (published coefficients), written as Horner evaluations.
// erf(z) = z P(z^2)/Q(z^2) for |z| <= 0.5.
double erf_small(double z) {
  const double y = z * z;
  const double num = (((1.857777061846031526730e-1 * y + 3.161123743870565596947e0) * y + 1.138641541510501556495e2) * y +
                      3.774852376853020208137e2) * y + 3.209377589138469472562e3;
  const double den = (((y + 2.360129095234412093499e1) * y + 2.440246379344441733056e2) * y + 1.282616526077372275645e3) * y +
                     2.844236833439170622273e3;
  return z * num / den;
}

// erfcx(z) = P(z)/Q(z) for 0.5 <= z <= 4.
double erfcx_mid(double z) {
  const double num = (((((((2.15311535474403846343e-8 * z + 5.64188496988670089180e-1) * z + 8.88314979438837594118e0) * z +
                          6.61191906371416294775e1) * z + 2.98635138197400131132e2) * z + 8.81952221241769090411e2) * z +
                       1.71204761263407058314e3) * z + 2.05107837782607146532e3) * z + 1.23033935479799725272e3;
  const double den = (((((((z + 1.57449261107098347253e1) * z + 1.17693950891312499305e2) * z + 5.37181101862009857509e2) * z +
                         1.62138957456669018874e3) * z + 3.29079923573345962678e3) * z + 4.36261909014324715820e3) * z +
                      3.43936767414372163696e3) * z + 1.23033935480374942043e3;
  return num / den;
}

// erfcx(z) = (1/sqrt(pi) - y P(y)/Q(y)) / z with y = 1/z^2, for z >= 4.
double erfcx_large(double z) {
  constexpr double kInvSqrtPi = 0.564189583547756286948079451560772586;
  const double y = 1.0 / (z * z);
  const double num = ((((1.63153871373020978498e-2 * y + 3.05326634961232344035e-1) * y + 3.60344899949804439429e-1) * y +
                       1.25781726111229246204e-1) * y + 1.60837851487422766278e-2) * y + 6.58749161529837803157e-4;
  const double den = ((((y + 2.56852019228982242072e0) * y + 1.87295284992346047209e0) * y + 5.27905102951428412248e-1) * y +
                      6.05183413124413191178e-2) * y + 2.33520497626869185443e-3;
  return (kInvSqrtPi - y * num / den) / z;
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

double cdf(double z) {
  if (z >= 0.0) return 1.0 - 0.5 * std::erfc(z * kInvSqrt2);
  // exp(-z^2/2) * erfcx(-z/sqrt2) / 2 keeps relative accuracy deep in the lower tail.
  return 0.5 * std::erfc(-z * kInvSqrt2);
}

double inverse_cdf(double p) {
  // Wichura, M. J. (1988). Algorithm AS 241: The percentage points of the normal
  // distribution. Applied Statistics 37(3), 477-484. Coefficients of PPND16 (published values).
  if (std::isnan(p) || p < 0.0 || p > 1.0) return std::numeric_limits<double>::quiet_NaN();
  if (p == 0.0) return -std::numeric_limits<double>::infinity();
  if (p == 1.0) return std::numeric_limits<double>::infinity();
  const double q = p - 0.5;
  if (std::fabs(q) <= 0.425) {
    const double r = 0.180625 - q * q;
    const double num =
        ((((((2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r + 6.7265770927008700853e4) * r +
            4.5921953931549871457e4) * r + 1.3731693765509461125e4) * r + 1.9715909503065514427e3) * r +
         1.3314166789178437745e2) * r + 3.3871328727963666080e0;
    const double den =
        ((((((5.2264952788528545610e3 * r + 2.8729085735721942674e4) * r + 3.9307895800092710610e4) * r +
            2.1213794301586595867e4) * r + 5.3941960214247511077e3) * r + 6.8718700749205790830e2) * r +
         4.2313330701600911252e1) * r + 1.0;
    return q * num / den;
  }
  double r = q < 0.0 ? p : 1.0 - p;
  r = std::sqrt(-std::log(r));
  double z;
  if (r <= 5.0) {
    r -= 1.6;
    const double num =
        ((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1) * r +
            1.27045825245236838258e0) * r + 3.64784832476320460504e0) * r + 5.76949722146069140550e0) * r +
         4.63033784615654529590e0) * r + 1.42343711074968357734e0;
    const double den =
        ((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2) * r +
            1.48103976427480074590e-1) * r + 6.89767334985100004550e-1) * r + 1.67638483018380384940e0) * r +
         2.05319162663775882187e0) * r + 1.0;
    z = num / den;
  } else {
    r -= 5.0;
    const double num =
        ((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3) * r +
            2.65321895265761230930e-2) * r + 2.96560571828504891230e-1) * r + 1.78482653991729133580e0) * r +
         5.46378491116411436990e0) * r + 6.65790464350110377720e0;
    const double den =
        ((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5) * r +
            7.86869131145613259100e-4) * r + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r +
         5.99832206555887937690e-1) * r + 1.0;
    z = num / den;
  }
  return q < 0.0 ? -z : z;
}

}  // namespace normal
}  // namespace IVFAST_ISA
}  // namespace ivfast
