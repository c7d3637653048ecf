#include "characteristic_function.hpp"

#include <cmath>
#include <limits>

namespace ivfast::fourier {

namespace {

// Principal complex log for arguments near 1: ln|z| = log1p((x - 1)(x + 1) + y^2) / 2 keeps full
// accuracy there, and avoids glibc's clog, whose exact-rounding path near |z| = 1 sorts partial
// products and dominated the whole pricer's profile.
cd log_near_one(cd z) {
  const double x = z.real(), y = z.imag();
  const double t = (x - 1.0) * (x + 1.0) + y * y;  // |z|^2 - 1
  // log1p only where it matters: away from |z| = 1 the plain log is as accurate and twice as fast
  return {0.5 * (std::abs(t) < 0.5 ? std::log1p(t) : std::log(x * x + y * y)), std::atan2(y, x)};
}

}  // namespace

cd HestonModel::log_cf(cd u, double tau) const {
  const cd iu(-u.imag(), u.real());
  const double s2 = sigma * sigma;
  const cd beta = kappa - rho * sigma * iu;
  const cd q = s2 * (iu + u * u);  // beta^2 - d^2
  const cd d = sqrt_finite(beta * beta + q);
  const cd bpd = beta + d;
  // beta - d = -q / (beta + d) avoids cancellation near u = 0, where beta ~ d ~ kappa.
  const cd bmd = std::norm(bpd) > std::norm(beta - d) ? divide(-q, bpd) : beta - d;
  const cd g = divide(bmd, bpd);
  const cd e = exp_finite(-d * tau);
  const cd one_m_ge = 1.0 - g * e;
  return (kappa * theta / s2) * (bmd * tau - 2.0 * log_near_one(divide(one_m_ge, 1.0 - g))) +
         (v0 / s2) * divide(bmd * (1.0 - e), one_m_ge);
}

namespace {

// Andersen & Piterbarg (2007), Prop. 3.1: time at which E[S_T^p] becomes infinite.
double explosion_time(double p, double kappa, double sigma, double rho) {
  if (p >= 0.0 && p <= 1.0) return std::numeric_limits<double>::infinity();
  const double k = kappa - rho * sigma * p;
  const double disc = k * k - sigma * sigma * p * (p - 1.0);
  if (disc >= 0.0) {
    if (k >= 0.0) return std::numeric_limits<double>::infinity();
    const double r = std::sqrt(disc);
    return std::log((k - r) / (k + r)) / r;
  }
  const double r = std::sqrt(-disc);
  const double angle = k > 0.0 ? std::atan(r / k) : (k < 0.0 ? M_PI + std::atan(r / k) : 0.5 * M_PI);
  return 2.0 * angle / r;
}

}  // namespace

bool HestonModel::moment_finite(double p, double tau) const {
  return explosion_time(p, kappa, sigma, rho) > 1.25 * tau;
}

}  // namespace ivfast::fourier
