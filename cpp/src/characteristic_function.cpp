#include "ivfast/characteristic_function.hpp"

#include <cmath>
#include <limits>

namespace ivfast::fourier {

cd HestonModel::log_cf(cd u, double tau) const {
  const cd iu(-u.imag(), u.real());
  const double s2 = sigma * sigma;
  const cd beta = kappa - rho * sigma * iu;
  const cd q = s2 * (iu + u * u);  // beta^2 - d^2
  const cd d = std::sqrt(beta * beta + q);
  const cd bpd = beta + d;
  // beta - d = -q / (beta + d) avoids cancellation near u = 0, where beta ~ d ~ kappa.
  const cd bmd = std::abs(bpd) > std::abs(beta - d) ? -q / bpd : beta - d;
  const cd g = bmd / bpd;
  const cd e = std::exp(-d * tau);
  const cd one_m_ge = 1.0 - g * e;
  return (kappa * theta / s2) * (bmd * tau - 2.0 * std::log(one_m_ge / (1.0 - g))) +
         (v0 / s2) * bmd * (1.0 - e) / one_m_ge;
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
