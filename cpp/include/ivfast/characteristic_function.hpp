// Characteristic functions of x = ln(S_T / F_T), the log-price relative to the forward.
//
// Every model exposes
//   log_cf(u, tau)          ln E[exp(i u x)] for complex u (martingale-normalised: log_cf(-i) = 0),
//   moment_finite(p, tau)   whether E[exp(p x)] is finite for real p (with a safety margin in tau),
// which is all the Fourier engines need: contours u - i c with real c are legal exactly where the
// corresponding moment is finite.
#pragma once

#include <cmath>
#include <complex>

namespace ivfast::fourier {

using cd = std::complex<double>;

// a / b without libgcc's overflow-guarded __divdc3 (a tenth of the pricer's time); the engines only
// divide by moduli between about 1e-150 and 1e150, where the plain formula is exact enough.
inline cd divide(cd a, cd b) { return a * std::conj(b) / std::norm(b); }

struct BlackScholesModel {
  double vol;

  cd log_cf(cd u, double tau) const {
    const cd iu(-u.imag(), u.real());
    return -0.5 * vol * vol * tau * (iu + u * u);
  }
  bool moment_finite(double, double) const { return true; }
  bool valid() const { return vol > 0.0; }
};

// Heston (1993) in the "little Heston trap" form of Albrecher, Mayer, Schoutens & Tistaert (2007):
// with g = (beta - d)/(beta + d) and Re d >= 0 the complex logarithm never crosses its branch cut,
// so long maturities need no rotation counting.
struct HestonModel {
  double v0, kappa, theta, sigma, rho;

  cd log_cf(cd u, double tau) const;
  // Andersen & Piterbarg (2007) moment-explosion time T*(p) > 1.25 tau (margin keeps contours away
  // from the blow-up, where the integrand is huge and cancellation ruins accuracy).
  bool moment_finite(double p, double tau) const;
  bool valid() const {
    return v0 >= 0.0 && kappa > 0.0 && theta > 0.0 && sigma > 0.0 && rho > -1.0 && rho < 1.0;
  }
};

// Bates (1996): Heston times compound-Poisson log-normal jumps, in the seed's parameterisation:
// intensity lam, mean relative jump beta, ln(1 + J) ~ N(ln(1 + beta) - alpha^2/2, alpha^2), drift
// compensated by -lam * beta. Log-normal jumps have all moments, so explosion is Heston's alone.
struct BatesModel {
  HestonModel heston;
  double lam, beta, alpha;
  double mu;  // mean of ln(1 + J)

  BatesModel(const HestonModel& h, double lam_, double beta_, double alpha_)
      : heston(h), lam(lam_), beta(beta_), alpha(alpha_), mu(std::log1p(beta_) - 0.5 * alpha_ * alpha_) {}

  cd log_cf(cd u, double tau) const {
    const cd iu(-u.imag(), u.real());
    const cd jump = std::exp(iu * mu - 0.5 * alpha * alpha * u * u) - 1.0;
    return heston.log_cf(u, tau) + lam * tau * (jump - beta * iu);
  }
  bool moment_finite(double p, double tau) const { return heston.moment_finite(p, tau); }
  bool valid() const { return heston.valid() && lam >= 0.0 && beta > -1.0 && alpha >= 0.0; }
};

// The same law seen under the share measure (numeraire S_T) and reflected, x* = -x:
// E*[exp(i u x*)] = E[exp(x) exp(-i u x)] = phi(-u - i). An out-of-the-money put at log-moneyness k
// equals exp(k) times an out-of-the-money call on x* at -k, so one call engine prices both wings.
template <class Model>
struct ShareMeasure {
  const Model& model;

  cd log_cf(cd u, double tau) const { return model.log_cf(cd(-u.real(), -u.imag() - 1.0), tau); }
  bool moment_finite(double p, double tau) const { return model.moment_finite(1.0 - p, tau); }
};

// ln E[exp(p x)] for real p (the cumulant generating function on the real axis).
template <class Model>
double log_moment(const Model& model, double p, double tau) {
  return model.log_cf(cd(0.0, -p), tau).real();
}

}  // namespace ivfast::fourier
