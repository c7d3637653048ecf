// Carr–Madan (1999) Fourier pricing of out-of-the-money calls with FFTW, parameters chosen per
// maturity from the characteristic function so that every maturity meets the same error budget.
//
// For k = ln(K/F) >= 0 and damping a > 0,
//   c(k) = E[(e^x - e^k)^+] = e^{-a k}/pi * int_0^inf Re[e^{-iuk} psi(u)] du,
//   psi(u) = phi(u - (a+1)i) / (a^2 + a - u^2 + i(2a+1)u).
// The integrand is even in u and analytic, so the trapezoidal rule on [0, U] with half weight at 0 is
// the full-line trapezoidal rule: its error is the aliasing sum over copies of the damped price at
// k +- 2pi/du, bounded here through moments (Chernoff) instead of the polynomial error of Simpson's
// rule (Simpson = 4/3 T_h - 1/3 T_2h inherits the much larger aliasing error of the coarse grid).
// Each error source gets a quarter of the tolerance:
//   left alias   e^{-a L} <= tol/4                                  (c <= 1),
//   right alias  C_b M(1+b) e^{-(b-a) L} <= tol/4 for some b > a     ((e^y-1)^+ <= C_b e^{(1+b)y}),
//   truncation   e^{-a k} |psi(U)| U / pi <= tol/4                    (|psi| decays at least like 1/u^2),
//   interpolation of the FFT output onto the strikes with an m-point Lagrange stencil:
//                e^{-a k} du/pi * sum_j |psi_j| c_m (u_j dk)^m <= tol/4,
// with L = 2pi/du the period in k and dk = L/N the FFT output spacing (N is zero-padded until the
// last bound holds). The damping minimises the Lord–Kahl bound e^{-ak} phi(-(a+1)i)/(a(a+1)) at
// the nearest strike, within the range where the moment of order a+1 is finite.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <vector>

#include "ivfast/characteristic_function.hpp"
#include "ivfast/fftw_plan_cache.hpp"

namespace ivfast::fourier {

struct CarrMadanSettings {
  double tolerance = 1e-13;  // absolute, in units of the forward (undiscounted)
  int stencil = 12;          // Lagrange interpolation points (even)
  double max_moment = 1000;  // cap on the moment order searched for the damping
  std::size_t max_points = std::size_t{1} << 21;  // cap on characteristic-function evaluations
};

// What the engine chose for one maturity and wing (for diagnostics and benchmarks).
struct CarrMadanGrid {
  double damping = 0, period = 0, u_max = 0;
  std::size_t points = 0, fft_size = 0;
};

struct CarrMadanWorkspace {
  std::vector<cd> psi;
  FftwBuffer<fftw_complex> spectrum;
  FftwBuffer<double> values;
};

namespace detail {

inline double log_lagrange_constant(int m) {
  // max over the central cell of prod |t - t_i| / m! for m equispaced nodes.
  double log_c = -std::lgamma(m + 1.0);
  for (int j = 0; j < m / 2; ++j) log_c += 2.0 * std::log(j + 0.5);
  return log_c;
}

// Largest moment order p in [1, 1 + cap] with E[e^{px}] finite and below e^700.
template <class Model>
double max_moment_order(const Model& model, double tau, double cap) {
  auto ok = [&](double p) {
    if (!model.moment_finite(p, tau)) return false;
    const double k = log_moment(model, p, tau);
    return std::isfinite(k) && k < 700.0;
  };
  double lo = 1.0, hi = 1.0 + cap;
  if (ok(hi)) return hi;
  for (int it = 0; it < 60; ++it) {
    const double mid = 0.5 * (lo + hi);
    (ok(mid) ? lo : hi) = mid;
  }
  return lo;
}

template <class Model>
double log_abs_psi(const Model& model, double tau, double a, double u) {
  const cd den(a * a + a - u * u, (2.0 * a + 1.0) * u);
  return model.log_cf(cd(u, -(a + 1.0)), tau).real() - std::log(std::abs(den));
}

template <class Model>
double choose_damping(const Model& model, double tau, double k_ref, double a_hi) {
  auto bound = [&](double log_a) {
    const double a = std::exp(log_a);
    return -a * k_ref + log_moment(model, a + 1.0, tau) - std::log(a * (a + 1.0));
  };
  double lo = std::log(std::min(1e-3, 0.5 * a_hi)), hi = std::log(a_hi);
  const double r = 0.5 * (std::sqrt(5.0) - 1.0);
  double x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo);
  double f1 = bound(x1), f2 = bound(x2);
  for (int it = 0; it < 60 && hi - lo > 1e-4; ++it) {
    if (f1 < f2) {
      hi = x2, x2 = x1, f2 = f1;
      x1 = hi - r * (hi - lo), f1 = bound(x1);
    } else {
      lo = x1, x1 = x2, f1 = f2;
      x2 = lo + r * (hi - lo), f2 = bound(x2);
    }
  }
  return std::exp(0.5 * (lo + hi));
}

// Shortest period L meeting both alias bounds.
template <class Model>
double choose_period(const Model& model, double tau, double a, double a_max, double log_tol, double span) {
  double right = HUGE_VAL;
  for (int i = 1; i <= 16; ++i) {
    const double b = a + (a_max - a) * i / 16.0;
    if (b <= a) break;
    const double log_cb = b * std::log(b) - (1.0 + b) * std::log1p(b);
    right = std::min(right, (log_cb + log_moment(model, 1.0 + b, tau) - log_tol) / (b - a));
  }
  return std::max({-log_tol / a, right, 1.25 * span + 0.5});
}

// Smallest U with the truncation bound met (doubling, then geometric bisection).
template <class Model>
double choose_u_max(const Model& model, double tau, double a, double k_lo, double log_tol, double scale) {
  auto excess = [&](double u) {
    return log_abs_psi(model, tau, a, u) + std::log(u / M_PI) - a * k_lo - log_tol;
  };
  double hi = 0.25 / scale;
  int doublings = 0;
  while (!(excess(hi) <= 0.0) && doublings++ < 80) hi *= 2.0;
  if (doublings == 0) return hi;
  double lo = 0.5 * hi;
  for (int it = 0; it < 20; ++it) {
    const double mid = std::sqrt(lo * hi);
    (excess(mid) <= 0.0 ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace detail

// Undiscounted out-of-the-money call prices c(k) = E[(e^x - e^k)^+] (units of the forward) at
// log-moneyness k[i] >= 0, for the law of x = ln(S_T/F) given by `model` at maturity tau.
template <class Model>
CarrMadanGrid otm_call_prices(const Model& model, double tau, const double* k, std::size_t n, double* out,
                              CarrMadanWorkspace& ws, const CarrMadanSettings& s = {}) {
  CarrMadanGrid grid;
  if (n == 0) return grid;
  const double k_lo = *std::min_element(k, k + n), k_hi = *std::max_element(k, k + n);
  const double log_tol = std::log(0.25 * s.tolerance);
  const int m = s.stencil;

  const double a_max = detail::max_moment_order(model, tau, s.max_moment) - 1.0;
  const double a = detail::choose_damping(model, tau, k_lo, 0.75 * a_max);
  const double L = detail::choose_period(model, tau, a, a_max, log_tol, k_hi - k_lo);
  // Gaussian-equivalent standard deviation (exact for Black–Scholes): K(1/2) = -s^2/8.
  const double scale = std::sqrt(std::max(-8.0 * log_moment(model, 0.5, tau), 1e-300));
  const double u_max = detail::choose_u_max(model, tau, a, k_lo, log_tol, scale);
  const double du = 2.0 * M_PI / L;
  const std::size_t J = std::min<std::size_t>(static_cast<std::size_t>(std::ceil(u_max / du)) + 1, s.max_points);

  ws.psi.resize(J + 1);
  double moment_m = 0.0;  // sum_j |psi_j| u_j^m du, for the interpolation bound
  for (std::size_t j = 0; j <= J; ++j) {
    const double u = du * static_cast<double>(j);
    const cd den(a * a + a - u * u, (2.0 * a + 1.0) * u);
    ws.psi[j] = std::exp(model.log_cf(cd(u, -(a + 1.0)), tau)) / den;
    moment_m += std::abs(ws.psi[j]) * std::pow(u, m) * du;
  }
  const double log_dk_max =
      (log_tol + std::log(M_PI) + a * k_lo - detail::log_lagrange_constant(m) - std::log(moment_m)) / m;
  std::size_t N = 256;
  while (N < 2 * (J + 1) || std::log(L / static_cast<double>(N)) > log_dk_max) N *= 2;
  const double dk = L / static_cast<double>(N);

  // Spectrum for c2r: y_i = Re sum_j w_j psi_j e^{-i u_j (k0 + i dk)}, w_0 = 1/2, u_j dk = 2 pi j/N.
  const double k0 = k_lo - (m / 2 + 1) * dk;
  fftw_complex* spec = ws.spectrum.reserve(N / 2 + 1);
  double* y = ws.values.reserve(N);
  for (std::size_t j = 0; j <= N / 2; ++j) spec[j][0] = spec[j][1] = 0.0;
  spec[0][0] = 0.5 * ws.psi[0].real();
  for (std::size_t j = 1; j <= J && j < N / 2; ++j) {
    const double phase = -du * static_cast<double>(j) * k0;
    const cd z = 0.5 * std::conj(ws.psi[j] * cd(std::cos(phase), std::sin(phase)));
    spec[j][0] = z.real();
    spec[j][1] = z.imag();
  }
  fftw_execute_dft_c2r(c2r_plan(static_cast<int>(N)), spec, y);

  for (std::size_t i = 0; i < n; ++i) {
    const double t = (k[i] - k0) / dk;
    const long base = static_cast<long>(std::floor(t)) - m / 2 + 1;
    double num = 0.0, den = 0.0, weight = 1.0, exact = NAN;
    for (int j = 0; j < m; ++j) {
      const double diff = t - static_cast<double>(base + j);
      if (diff == 0.0) exact = y[base + j];
      num += weight / diff * y[base + j];
      den += weight / diff;
      weight *= -static_cast<double>(m - 1 - j) / static_cast<double>(j + 1);
    }
    const double g = std::isnan(exact) ? num / den : exact;
    out[i] = std::exp(-a * k[i]) * du / M_PI * g;
  }
  grid.damping = a;
  grid.period = L;
  grid.u_max = du * static_cast<double>(J);
  grid.points = J + 1;
  grid.fft_size = N;
  return grid;
}

}  // namespace ivfast::fourier
