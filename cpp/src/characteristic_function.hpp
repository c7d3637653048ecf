// Characteristic functions of x = ln(S_T / F_T), the log-price relative to the forward.
//
// Every model exposes
//   log_cf(u, tau)          ln E[exp(i u x)] for complex u (for a law: log_cf(0) = log_cf(-i) = 0;
//                           for a part of one, below, they are its log mass and log forward),
//   moment_finite(p, tau)   whether E[exp(p x)] is finite for real p (with a safety margin in tau),
//   mass(tau), forward(tau) E[1] and E[exp(x)] in closed form (1 for a law; the closed-form
//                           transform can be 0/0 at u = 0 or -i, e.g. Heston at -i when kappa = rho sigma),
// which is all the Fourier engines need: contours u - i c with real c are legal exactly where the
// corresponding moment is finite.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>

namespace ivfast::fourier {

using cd = std::complex<double>;

// a / b without libgcc's overflow-guarded __divdc3 (a tenth of the pricer's time); the engines only
// divide by moduli between about 1e-150 and 1e150, where the plain formula is exact enough.
inline cd divide(cd a, cd b) { return a * std::conj(b) / std::norm(b); }

// e^z and the principal square root without libm's complex entry points (cexp's and csqrt's
// special-case handling and csqrt's overflow-safe hypot cost a third of a characteristic-function
// evaluation); valid for the finite, moderate arguments the engines produce (|z| < 1e150).
inline cd exp_finite(cd z) {
  const double m = std::exp(z.real());
  return {m * std::cos(z.imag()), m * std::sin(z.imag())};
}
inline cd sqrt_finite(cd z) {
  const double x = z.real(), y = z.imag(), r = std::sqrt(x * x + y * y);
  if (r == 0.0) return {0.0, y};
  if (x >= 0.0) {
    const double t = std::sqrt(0.5 * (r + x));
    return {t, 0.5 * y / t};
  }
  const double t = std::sqrt(0.5 * (r - x));
  return {0.5 * std::abs(y) / t, std::copysign(t, y)};
}

struct BlackScholesModel {
  double vol;

  cd log_cf(cd u, double tau) const {
    const cd iu(-u.imag(), u.real());
    return -0.5 * vol * vol * tau * (iu + u * u);
  }
  bool moment_finite(double, double) const { return true; }
  double mass(double) const { return 1.0; }
  double forward(double) const { return 1.0; }
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
  double mass(double) const { return 1.0; }
  double forward(double) const { return 1.0; }
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

  cd log_cf(cd u, double tau) const { return heston.log_cf(u, tau) + jump_terms(u, tau); }
  // log_cf less Heston's
  cd jump_terms(cd u, double tau) const {
    const cd iu(-u.imag(), u.real());
    const cd jump = exp_finite(iu * mu - 0.5 * alpha * alpha * u * u) - 1.0;
    return lam * tau * (jump - beta * iu);
  }
  bool moment_finite(double p, double tau) const { return heston.moment_finite(p, tau); }
  double mass(double) const { return 1.0; }
  double forward(double) const { return 1.0; }
  bool valid() const { return heston.valid() && lam >= 0.0 && beta > -1.0 && alpha >= 0.0; }
};

// Bates split by the number of jumps, phi = phi_0 + phi_J: phi_0 = phi_H e^{-lam tau (1 + i u beta)}
// is the no-jump part (mass e^{-lam tau}) and phi_J = phi_0 (e^{lam tau psi_J(u)} - 1) the rest, with
// psi_J(u) = E[e^{i u ln(1 + J)}]. Both are characteristic functions of positive measures (prices are
// linear in the measure), and they are hard in different directions: phi_0 decays slowly in u (the
// narrow diffusive peak of short maturities) but its damped price has thin tails in strike, while
// phi_J decays like a Gaussian of the jump size in u but its price has the jumps' heavy tails. A
// single transform of phi needs both the long u range and the long strike period; pricing the two
// parts separately needs each only once.
struct BatesNoJumpPart {
  const BatesModel& bates;

  cd log_cf(cd u, double tau) const {
    const cd iu(-u.imag(), u.real());
    return bates.heston.log_cf(u, tau) - bates.lam * tau * (1.0 + bates.beta * iu);
  }
  bool moment_finite(double p, double tau) const { return bates.moment_finite(p, tau); }
  double mass(double tau) const { return std::exp(-bates.lam * tau); }
  double forward(double tau) const { return std::exp(-bates.lam * tau * (1.0 + bates.beta)); }
};

struct BatesJumpPart {
  const BatesModel& bates;

  cd log_cf(cd u, double tau) const { return bates.heston.log_cf(u, tau) + jump_terms(u, tau); }
  // log_cf less Heston's: -lam tau (1 + i u beta) + ln(e^z - 1), z = lam tau psi_J(u), as
  // ln(lam tau) + ln psi_J + ln((e^z - 1)/z), the last by its series for small z
  cd jump_terms(cd u, double tau) const {
    const cd iu(-u.imag(), u.real());
    const cd log_psi_j = iu * bates.mu - 0.5 * bates.alpha * bates.alpha * u * u;
    const cd z = bates.lam * tau * exp_finite(log_psi_j);
    const cd ratio = std::norm(z) < 1e-4 ? 1.0 + z * (0.5 + z * (1.0 / 6 + z * (1.0 / 24 + z / 120.0)))
                                         : divide(exp_finite(z) - 1.0, z);
    const cd log_ratio(0.5 * std::log(std::norm(ratio)), std::atan2(ratio.imag(), ratio.real()));
    return -bates.lam * tau * (1.0 + bates.beta * iu) + std::log(bates.lam * tau) + log_psi_j + log_ratio;
  }
  bool moment_finite(double p, double tau) const { return bates.moment_finite(p, tau); }
  double mass(double tau) const { return -std::expm1(-bates.lam * tau); }
  double forward(double tau) const { return -std::expm1(-bates.lam * tau * (1.0 + bates.beta)); }
};

// The same law seen under the share measure (numeraire S_T) and reflected, x* = -x:
// E*[exp(i u x*)] = E[exp(x) exp(-i u x)] = phi(-u - i). An out-of-the-money put at log-moneyness k
// equals exp(k) times an out-of-the-money call on x* at -k, so one call engine prices both wings.
template <class Model>
struct ShareMeasure {
  const Model& model;

  cd log_cf(cd u, double tau) const { return model.log_cf(cd(-u.real(), -u.imag() - 1.0), tau); }
  bool moment_finite(double p, double tau) const { return model.moment_finite(1.0 - p, tau); }
  double mass(double tau) const { return model.forward(tau); }
  double forward(double tau) const { return model.mass(tau); }
};

// log_cf at many points u_j = ur[j] + i ui[j] into lr[j] + i li[j] (outputs must not alias inputs).
// Heston and the no-jump part of Bates (whose transforms dominate the work) have a vectorised
// evaluation (characteristic_function_batch.cpp); other models loop over log_cf.
void heston_log_cf_batch(const HestonModel& h, const double* ur, const double* ui, std::size_t n, double tau,
                         double* lr, double* li);

// Adds BatesJumpPart::jump_terms at the points to (lr, li), vectorised like the Heston batch.
void bates_jump_part_terms_batch(const BatesModel& b, const double* ur, const double* ui, std::size_t n, double tau,
                                 double* lr, double* li);

// psi_j = exp(lr_j + shift + i li_j) / (a^2 + a - u_j^2 + i (2a + 1) u_j), the Carr–Madan integrand
// on the contour Im u = -(a + 1) from its log_cf (in place allowed: out may be lr, li).
void damped_transform_batch(double a, double shift, const double* ur, const double* lr, const double* li,
                            std::size_t n, double* out_re, double* out_im);

template <class Model>
void log_cf_many(const Model& model, const double* ur, const double* ui, std::size_t n, double tau, double* lr,
                 double* li) {
  for (std::size_t j = 0; j < n; ++j) {
    const cd z = model.log_cf(cd(ur[j], ui[j]), tau);
    lr[j] = z.real(), li[j] = z.imag();
  }
}

inline void log_cf_many(const HestonModel& model, const double* ur, const double* ui, std::size_t n, double tau,
                        double* lr, double* li) {
  heston_log_cf_batch(model, ur, ui, n, tau, lr, li);
}

inline void log_cf_many(const BatesNoJumpPart& part, const double* ur, const double* ui, std::size_t n, double tau,
                        double* lr, double* li) {
  heston_log_cf_batch(part.bates.heston, ur, ui, n, tau, lr, li);
  const double lt = part.bates.lam * tau, lt_beta = lt * part.bates.beta;
  for (std::size_t j = 0; j < n; ++j) {  // - lam tau (1 + beta i u)
    lr[j] -= lt - lt_beta * ui[j];
    li[j] -= lt_beta * ur[j];
  }
}

// Bates and its jump part: Heston batched, the jump terms per point.
template <class Model>
void log_cf_many_heston_plus_jumps(const Model& model, const HestonModel& heston, const double* ur, const double* ui,
                                   std::size_t n, double tau, double* lr, double* li) {
  heston_log_cf_batch(heston, ur, ui, n, tau, lr, li);
  for (std::size_t j = 0; j < n; ++j) {
    const cd z = model.jump_terms(cd(ur[j], ui[j]), tau);
    lr[j] += z.real(), li[j] += z.imag();
  }
}
inline void log_cf_many(const BatesModel& model, const double* ur, const double* ui, std::size_t n, double tau,
                        double* lr, double* li) {
  log_cf_many_heston_plus_jumps(model, model.heston, ur, ui, n, tau, lr, li);
}
inline void log_cf_many(const BatesJumpPart& part, const double* ur, const double* ui, std::size_t n, double tau,
                        double* lr, double* li) {
  heston_log_cf_batch(part.bates.heston, ur, ui, n, tau, lr, li);
  bates_jump_part_terms_batch(part.bates, ur, ui, n, tau, lr, li);
}

template <class Model>
void log_cf_many(const ShareMeasure<Model>& share, const double* ur, const double* ui, std::size_t n, double tau,
                 double* lr, double* li) {
  constexpr std::size_t kChunk = 64;
  double tr[kChunk], ti[kChunk];
  for (std::size_t j0 = 0; j0 < n; j0 += kChunk) {
    const std::size_t m = std::min(kChunk, n - j0);
    for (std::size_t j = 0; j < m; ++j) tr[j] = -ur[j0 + j], ti[j] = -ui[j0 + j] - 1.0;
    log_cf_many(share.model, tr, ti, m, tau, lr + j0, li + j0);
  }
}

// ln E[exp(p x)] for real p (the cumulant generating function on the real axis).
template <class Model>
double log_moment(const Model& model, double p, double tau) {
  return model.log_cf(cd(0.0, -p), tau).real();
}

}  // namespace ivfast::fourier
