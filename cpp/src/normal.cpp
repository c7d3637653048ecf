#include "ivfast/normal.hpp"

#include <cmath>
#include <limits>

namespace ivfast::normal {

double pdf(double z) { return kInvSqrt2Pi * std::exp(-0.5 * z * z); }

namespace {

// exp(z^2) with z^2 split into an exact head and tail, so the rounding of z*z (relative
// error eps, absolute error eps*z^2 in the exponent) does not cost eps*z^2 relative accuracy.
double exp_of_square(double z) {
  const double head = z * z;
  const double tail = std::fma(z, z, -head);
  return std::exp(head) * (1.0 + tail);
}

// Asymptotic series erfcx(z) ~ 1/(z sqrt(pi)) * sum_m (-1)^m (2m-1)!! / (2 z^2)^m, used only
// where erfc(z) would underflow (z > 26); there ten terms are far below double precision.
double erfcx_asymptotic(double z) {
  constexpr double kInvSqrtPi = 0.564189583547756286948079451560772586;
  const double u = 1.0 / (2.0 * z * z);
  double term = 1.0, sum = 1.0;
  for (int m = 1; m <= 10; ++m) {
    term *= -(2.0 * m - 1.0) * u;
    sum += term;
  }
  return kInvSqrtPi / z * sum;
}

}  // namespace

double erfcx(double z) {
  if (std::isnan(z)) return z;
  if (z > 26.0) return erfcx_asymptotic(z);
  if (z >= 0.0) return exp_of_square(z) * std::erfc(z);
  // erfc(z) = 2 - erfc(-z) for negative z: no cancellation, both terms positive.
  if (z < -26.6) return std::numeric_limits<double>::infinity();
  return 2.0 * exp_of_square(z) - erfcx(-z);
}

double cdf(double z) {
  if (z >= 0.0) return 1.0 - 0.5 * std::erfc(z * kInvSqrt2);
  // exp(-z^2/2) * erfcx(-z/sqrt2) / 2 keeps relative accuracy deep in the lower tail.
  const double u = -z * kInvSqrt2;
  if (u > 26.0) return 0.5 * std::exp(-u * u) * erfcx(u);
  return 0.5 * std::erfc(u);
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

}  // namespace ivfast::normal
