// Carr–Madan (1999) Fourier pricing of out-of-the-money calls with FFTW, parameters chosen per
// maturity from the characteristic function so that every maturity meets the same error budget.
//
// For k = ln(K/F) >= 0 and damping a > 0,
//   c(k) = E[(e^x - e^k)^+] = e^{-a k}/pi * int_0^inf Re[e^{-iuk} psi(u)] du,
//   psi(u) = phi(u - (a+1)i) / (a^2 + a - u^2 + i(2a+1)u).
// The integrand is even in u and analytic, so the trapezoidal rule on [0, U] with half weight at 0 is
// the full-line trapezoidal rule: its error is the aliasing sum over copies of the damped price at
// k +- 2pi/du, controlled below, instead of the polynomial error of Simpson's rule (Simpson =
// 4/3 T_h - 1/3 T_2h inherits the much larger aliasing error of the coarse grid).
// Each error source gets a quarter of the tolerance:
//   left alias   copies e^{-a nL} c(k - nL): intrinsic part subtracted exactly, put part
//                <= C_b M(-b) e^{-(a+1+b)L + (1+b)k} <= tol/4 for the best moment order -b <= 0
//                (Chernoff: (1 - e^y)^+ <= C_b e^{-b y}, C_b = b^b/(1+b)^{1+b}),
//   right alias  e^{a L} c(k + L) <= tol/4, estimated on the transform's own far field and capped
//                by a moment (Chernoff) bound,
//   truncation   e^{-a k} |psi(U)| U / pi <= tol/4                    (|psi| decays at least like 1/u^2),
//   interpolation of the FFT output onto the strikes with an m-point Lagrange stencil:
//                e^{-a k} du/pi * sum_j |psi_j| c_m (u_j dk)^m <= tol/4,
// with L = 2pi/du the period in k and dk = L/N the FFT output spacing (N is zero-padded until the
// last bound holds). The damping minimises the Lord–Kahl bound e^{-ak} phi(-(a+1)i)/(a(a+1)) at
// the nearest strike, at most half the largest finite moment order less one, so that the damped
// price decays about as fast to the right as to the left.
#include "carr_madan.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <vector>

namespace ivfast::fourier {

namespace {

inline double power(double x, int m) {
  double r = 1.0;
  for (; m > 0; m >>= 1, x *= x) if (m & 1) r *= x;
  return r;
}

inline double log_lagrange_constant(int m) {
  // max over the central cell of prod |t - t_i| / m! for m equispaced nodes.
  double log_c = -std::lgamma(m + 1.0);
  for (int j = 0; j < m / 2; ++j) log_c += 2.0 * std::log(j + 0.5);
  return log_c;
}

// log_cf at two points in one batched call (two SIMD lanes instead of two scalar evaluations: the
// setup searches below evaluate in pairs).
template <class Model>
void log_cf_pair(const Model& model, cd u1, cd u2, double tau, cd& out1, cd& out2) {
  const double ur[2] = {u1.real(), u2.real()}, ui[2] = {u1.imag(), u2.imag()};
  double lr[2], li[2];
  log_cf_many(model, ur, ui, 2, tau, lr, li);
  out1 = cd(lr[0], li[0]), out2 = cd(lr[1], li[1]);
}

// ln E[e^{px}] from the characteristic function at u = -ip, or NaN where the closed form is not
// regular there: at isolated points short of the moment explosion its denominators vanish (0/0)
// and the formula returns garbage, which would mislead the damping choice. Regular means a step
// of 1e-4 along the real direction changes it by little.
template <class Model>
double regular_log_moment(const Model& model, double p, double tau) {
  cd at, near;
  log_cf_pair(model, cd(0.0, -p), cd(1e-4, -p), tau, at, near);
  return std::abs(near - at) <= 1e-2 * (1.0 + std::abs(at.real())) ? at.real() : NAN;
}

// Largest moment order p in [1, 1 + cap] with E[e^{px}] finite (and its logarithm representable).
template <class Model>
double max_moment_order(const Model& model, double tau, double cap) {
  // The explosion criterion is closed-form and cheap: bisect on it to 1e-9 first (finer would be
  // spurious: the criterion itself keeps a 25% margin in time), then (rarely needed) on the
  // transform's regularity, to a relative 1e-3 (two transforms per step).
  auto regular = [&](double p) { return std::isfinite(regular_log_moment(model, p, tau)); };
  double lo = 1.0, hi = 1.0 + cap;
  if (!model.moment_finite(hi, tau)) {
    for (int it = 0; it < 40 && hi - lo > 1e-9 * hi; ++it) {
      const double mid = 0.5 * (lo + hi);
      (model.moment_finite(mid, tau) ? lo : hi) = mid;
    }
    hi = lo, lo = 1.0;
  }
  if (regular(hi)) return hi;
  // Most often the closed form fails beyond some order by overflowing (the jump part's e^{z} - 1,
  // z growing like e^{alpha^2 p^2 / 2}): find that order with one transform per step, and bisect
  // on regularity below it only if it is not regular there either.
  auto finite = [&](double p) { return std::isfinite(model.log_cf(cd(0.0, -p), tau).real()); };
  if (!finite(hi)) {
    double f_lo = lo;
    for (int it = 0; it < 60 && hi - f_lo > 1e-3 * hi; ++it) {
      const double mid = 0.5 * (f_lo + hi);
      (finite(mid) ? f_lo : hi) = mid;
    }
    if (regular(f_lo)) return f_lo;
    hi = f_lo;
  }
  for (int it = 0; it < 60 && hi - lo > 1e-3 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    (regular(mid) ? lo : hi) = mid;
  }
  return lo;
}

// Lord–Kahl damping: golden-section search in ln a over [a_lo, a_hi] (the moment table narrows the
// bracket first, damping_for_period).
template <class Model>
double choose_damping(const Model& model, double tau, double k_ref, double a_lo, double a_hi) {
  auto bound = [&](double log_a) {
    const double a = std::exp(log_a);
    const double value = -a * k_ref + regular_log_moment(model, a + 1.0, tau) - std::log(a * (a + 1.0));
    return std::isnan(value) ? HUGE_VAL : value;
  };
  double lo = std::log(a_lo), hi = std::log(a_hi);
  const double r = 0.5 * (std::sqrt(5.0) - 1.0);
  double x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo);
  double f1 = bound(x1), f2 = bound(x2);
  for (int it = 0; it < 60 && hi - lo > 1e-2; ++it) {  // 1% in a: the bound is flat at its minimum
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

// Smallest U with the truncation bound met. The tail integral is |psi(U)| / r, r the local
// logarithmic decay rate of |psi| (which only grows with u for these models), and never less than
// the 1/u^2 decay that the denominator alone guarantees (r >= 1/U). The answer lies between about 5
// and 75 Gaussian-equivalent standard deviations' worth of 1/scale for these models, so the search
// starts at 4/scale and doubles (or halves, down to 0.25/scale) to a bracket of ratio 2. The excess
// is smooth in ln u (linear where |psi| decays exponentially, quadratic where it is Gaussian), so
// regula falsi with the Illinois correction narrows the bracket to 0.3% in a few steps, where plain
// bisection needs eight (each step is two transforms).
template <class Model>
double choose_u_max(const Model& model, double tau, double a, double k_lo, double log_tol, double scale) {
  auto log_abs_psi_pair = [&](double u, double& at, double& near) {  // at u and 1.01 u
    cd l1, l2;
    log_cf_pair(model, cd(u, -(a + 1.0)), cd(1.01 * u, -(a + 1.0)), tau, l1, l2);
    auto log_den = [&](double v) { return 0.5 * std::log(std::norm(cd(a * a + a - v * v, (2.0 * a + 1.0) * v))); };
    at = l1.real() - log_den(u), near = l2.real() - log_den(1.01 * u);
  };
  auto excess = [&](double u) {
    double log_psi, log_psi_near;
    log_abs_psi_pair(u, log_psi, log_psi_near);
    const double rate = (log_psi - log_psi_near) / (0.01 * u);
    return log_psi - std::log(M_PI * std::max(rate, 1.0 / u)) - a * k_lo - log_tol;
  };
  const double floor = 0.25 / scale;
  double hi = 4.0 / scale, f_hi = excess(hi), lo = hi, f_lo = f_hi;
  if (f_hi <= 0.0) {
    for (;;) {  // halve to the last failing U (or the floor)
      if (lo <= floor) return hi;
      lo = std::max(0.5 * hi, floor), f_lo = excess(lo);
      if (!(f_lo <= 0.0)) break;
      hi = lo, f_hi = f_lo;
    }
  } else {
    int doublings = 0;
    while (!(f_hi <= 0.0) && doublings++ < 80) lo = hi, f_lo = f_hi, hi *= 2.0, f_hi = excess(hi);
    if (!(f_hi <= 0.0)) return hi;  // bound never met: the point cap decides
  }
  // Now excess(lo) > 0 >= excess(hi). A non-finite excess at lo (psi overflowing) falls back to
  // bisection, as does any step that would not shrink the bracket.
  double x_lo = std::log(lo), x_hi = std::log(hi);
  int side = 0;
  for (int it = 0; it < 30 && x_hi - x_lo > 3e-3; ++it) {
    double x = std::isfinite(f_lo) ? (x_lo * f_hi - x_hi * f_lo) / (f_hi - f_lo) : 0.5 * (x_lo + x_hi);
    // keep the trial point well inside the bracket so both ends move
    const double margin = 0.05 * (x_hi - x_lo);
    if (!(x > x_lo + margin && x < x_hi - margin)) x = std::min(std::max(x, x_lo + margin), x_hi - margin);
    const double f = excess(std::exp(x));
    if (f <= 0.0) {
      x_hi = x, f_hi = f;
      if (side == -1) f_lo *= 0.5;  // Illinois: the stale end's weight halves
      side = -1;
    } else {
      x_lo = x, f_lo = f;
      if (side == 1) f_hi *= 0.5;
      side = 1;
    }
  }
  return std::exp(x_hi);
}

// psi_j e^{-a k_lo} at u_j = j du, j = 0..J (the scaling keeps psi finite when the moment of order
// a + 1 exceeds e^709). After the period doubles (du halves) the even points are the old ones.
template <class Model>
void sample_psi(const Model& model, double tau, double a, double k_lo, double du, std::size_t J, bool refine,
                CarrMadanWorkspace& ws) {
  std::vector<cd>& psi = ws.psi;
  const std::size_t kept = refine ? std::min(psi.size() - 1, J / 2) + 1 : 0;  // old samples reused
  psi.resize(J + 1);
  for (std::size_t j = kept; j-- > 0;) psi[2 * j] = psi[j];
  ws.index.resize(J + 1), ws.ur.resize(J + 1), ws.ui.resize(J + 1), ws.lr.resize(J + 1), ws.li.resize(J + 1);
  std::size_t n = 0;
  for (std::size_t j = 0; j <= J; ++j) {
    if (j % 2 == 0 && j / 2 < kept) continue;
    ws.index[n] = j, ws.ur[n] = du * static_cast<double>(j), ws.ui[n++] = -(a + 1.0);
  }
  log_cf_many(model, ws.ur.data(), ws.ui.data(), n, tau, ws.lr.data(), ws.li.data());
  damped_transform_batch(a, -a * k_lo, ws.ur.data(), ws.lr.data(), ws.li.data(), n, ws.lr.data(), ws.li.data());
  for (std::size_t i = 0; i < n; ++i) psi[ws.index[i]] = cd(ws.lr[i], ws.li[i]);
}

// Smallest power-of-two FFT length whose output spacing dk = L/N meets the interpolation bound.
inline std::size_t choose_fft_size(const std::vector<cd>& psi, double du, double L, int m, double log_tol) {
  const std::size_t J = psi.size() - 1;
  const double u_max = du * static_cast<double>(J);
  // sum_j |psi_j| (u_j / u_max)^m, in a loop without branches or library calls (the default stencil's
  // power as four squarings) so that it vectorises: it runs over every sample of every transform.
  double moment_m = 0.0;
  const double inv_J = 1.0 / static_cast<double>(J);
  const double* p = reinterpret_cast<const double*>(psi.data());  // std::complex is array-compatible
  if (m == 16) {
    for (std::size_t j = 0; j <= J; ++j) {
      const double r = static_cast<double>(j) * inv_J, r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
      moment_m += std::sqrt(p[2 * j] * p[2 * j] + p[2 * j + 1] * p[2 * j + 1]) * (r8 * r8);
    }
  } else {
    for (std::size_t j = 0; j <= J; ++j)
      moment_m += std::sqrt(std::norm(psi[j])) * power(static_cast<double>(j) * inv_J, m);
  }
  const double log_dk_max =
      (log_tol + std::log(M_PI / du) - log_lagrange_constant(m) - std::log(moment_m)) / m - std::log(u_max);
  std::size_t N = 256;
  const std::size_t n_cap = std::max<std::size_t>(std::size_t{1} << 24, 4 * (J + 1));  // bound unreachable: cap
  while ((N < 2 * (J + 1) || std::log(L / static_cast<double>(N)) > log_dk_max) && N < n_cap) N *= 2;
  return N;
}

// y_i = Re sum_j w_j psi_j e^{-i u_j (k0 + i dk)}, i < N, w_0 = 1/2 (trapezoid), u_j dk = 2 pi j / N,
// as one c2r transform of the conjugated half spectrum.
inline double* damped_prices_on_grid(const std::vector<cd>& psi, double du, double k0, std::size_t N,
                                     CarrMadanWorkspace& ws) {
  fftw_complex* spec = ws.spectrum.reserve(N / 2 + 1);
  double* y = ws.values.reserve(N);
  const std::size_t J = std::min(psi.size(), N / 2);  // samples used (j < N/2), the rest of spec is 0
  for (std::size_t j = J; j <= N / 2; ++j) spec[j][0] = spec[j][1] = 0.0;
  // e^{-i u_j k0} = e^{-i u_{64 b} k0} e^{-i u_t k0} for j = 64 b + t: exact cos/sin at every block
  // start and a table of the 64 in-block rotations (built by repeated multiplication, so rounding
  // grows over 64 steps at most), which leaves the inner loop free of a carried dependency.
  constexpr std::size_t kBlock = 64;
  double tr[kBlock], ti[kBlock];
  tr[0] = 1.0, ti[0] = 0.0;
  const double sr = std::cos(du * k0), si = -std::sin(du * k0);
  for (std::size_t t = 1; t < kBlock; ++t) {
    tr[t] = tr[t - 1] * sr - ti[t - 1] * si;
    ti[t] = tr[t - 1] * si + ti[t - 1] * sr;
  }
  const double* p = reinterpret_cast<const double*>(psi.data());
  for (std::size_t j0 = 0; j0 < J; j0 += kBlock) {
    const double phase = -du * static_cast<double>(j0) * k0;
    const double br = std::cos(phase), bi = std::sin(phase);
    const std::size_t n = std::min(kBlock, J - j0);
    for (std::size_t t = 0; t < n; ++t) {
      const double rr = br * tr[t] - bi * ti[t], ri = br * ti[t] + bi * tr[t];  // rotation
      const double pr = p[2 * (j0 + t)], pi = p[2 * (j0 + t) + 1];
      // 0.5 conj(psi_j rot): c2r doubles the bins j > 0 (Hermitian half spectrum)
      spec[j0 + t][0] = 0.5 * (pr * rr - pi * ri);
      spec[j0 + t][1] = -0.5 * (pr * ri + pi * rr);
    }
  }
  spec[0][1] = 0.0;  // c2r reads the real part at j = 0 once and every other bin twice: weight 1/2 there
  fftw_execute_dft_c2r(c2r_plan(static_cast<int>(N)), spec, y);
  return y;
}

// Barycentric Lagrange interpolation on m equispaced nodes around fractional index t.
inline double interpolate(const double* y, double t, int m) {
  const long base = static_cast<long>(std::floor(t)) - m / 2 + 1;
  double num = 0.0, den = 0.0, weight = 1.0;
  for (int j = 0; j < m; ++j) {
    const double diff = t - static_cast<double>(base + j);
    if (diff == 0.0) return y[base + j];
    num += weight / diff * y[base + j];
    den += weight / diff;
    weight *= -static_cast<double>(m - 1 - j) / static_cast<double>(j + 1);
  }
  return num / den;
}

// ln M(p) is convex in p; close to a moment explosion the closed forms can leave their branch and
// return finite garbage, which shows as a loss of convexity. Scans in increasing order stop there.
struct ConvexScan {
  double x = NAN, y = NAN, slope = -HUGE_VAL;
  bool accept(double x_new, double y_new) {
    if (!std::isfinite(y_new)) return false;
    if (std::isfinite(x) && x_new != x) {
      const double s = (y_new - y) / (x_new - x);
      if (s < slope - 1e-9 * (1.0 + std::abs(slope))) return false;
      slope = s;
    }
    x = x_new, y = y_new;
    return true;
  }
};

// ln M on a grid of moment orders, for the rigorous alias bounds below (one table per maturity and
// wing, no transforms needed afterwards). With C_b = b^b/(1+b)^{1+b}:
//   right  (e^y - 1)^+ <= C_b e^{(1+b)y} gives e^{aL} c(k + L) <= C_b M(1+b) e^{-(b-a)L} for k >= 0
//          and any finite moment order 1 + b > 1 + a;
//   left   (1 - e^y)^+ <= C_b e^{-b y} gives for the put part of the deep-in-the-money left copy
//          e^{-aL} p(k - L) <= C_b M(-b) e^{(1+b)k - (a+1+b)L} (b = 0: the trivial p(k') <= M0 e^{k'}).
struct MomentTable {
  static constexpr int kPositive = 24;
  // orders b and ln C_b + ln M at them
  double b_pos[kPositive], m_pos[kPositive], b_neg[8], m_neg[8];
  double log_m_pos[kPositive];  // ln M(1 + b) itself (for the Lord–Kahl bound)
  int n_pos = 0, n_neg = 0;

  static double log_cb(double b) { return b > 0.0 ? b * std::log(b) - (1.0 + b) * std::log1p(b) : 0.0; }

  // Shortest period with the right alias below the tolerance (HUGE_VAL when no moment helps).
  double right_period(double a, double log_tol) const {
    double best = HUGE_VAL;
    for (int i = 0; i < n_pos; ++i)
      if (b_pos[i] > a) best = std::min(best, (m_pos[i] - log_tol) / (b_pos[i] - a));
    return best;
  }
  // Shortest period with the left copies' put parts below the tolerance at every k <= k_hi.
  double left_period(double a, double k_hi, double log_tol) const {
    double best = HUGE_VAL;
    for (int i = 0; i < n_neg; ++i)
      best = std::min(best, ((1.0 + b_neg[i]) * k_hi + m_neg[i] - log_tol) / (a + 1.0 + b_neg[i]));
    return best;
  }
};

// ln M(p) is convex in p, so ln M(1 + b) and ln M(-b) are convex in b; close to a moment explosion
// the closed forms can leave their branch and return finite garbage, which shows as a loss of
// convexity (as does an isolated 0/0, so one transform per order suffices). The scans (increasing b)
// stop there.
template <class Model>
MomentTable moment_table(const Model& model, double tau, double a_max) {
  constexpr int kPos = MomentTable::kPositive, kNeg = 8;
  constexpr double kNegOrders[kNeg] = {0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0};
  // all orders in one batch: ln M(p) = Re log_cf(-i p)
  double ur[kPos + kNeg] = {}, ui[kPos + kNeg], lr[kPos + kNeg], li[kPos + kNeg];
  for (int j = 0; j < kPos; ++j) ui[j] = -(1.0 + a_max * (j + 1) / kPos);
  for (int j = 0; j < kNeg; ++j) ui[kPos + j] = kNegOrders[j];
  log_cf_many(model, ur, ui, kPos + kNeg, tau, lr, li);
  MomentTable t;
  ConvexScan up, down;
  for (int j = 0; j < kPos; ++j) {
    const double b = a_max * (j + 1) / kPos;
    if (!up.accept(b, lr[j])) break;
    t.b_pos[t.n_pos] = b, t.log_m_pos[t.n_pos] = lr[j], t.m_pos[t.n_pos++] = MomentTable::log_cb(b) + lr[j];
  }
  for (int j = 0; j < kNeg; ++j) {
    const double b = kNegOrders[j];
    if (b > 0.0 && !model.moment_finite(-b, tau)) break;
    const double log_m = b > 0.0 ? lr[kPos + j] : std::log(model.mass(tau));
    if (!down.accept(b, log_m)) break;
    t.b_neg[t.n_neg] = b, t.m_neg[t.n_neg++] = MomentTable::log_cb(b) + log_m;
  }
  return t;
}

// Right alias: the period needed, L itself when the current one suffices. The periodic copies of
// the damped price D(k) = e^{a k} c(k) are positive; the grid values at k_lo + 0.45 L and
// k_lo + 0.5 L, less the known deep-in-the-money left copy e^{a k'}(1 - e^{k'}) (k' one period
// lower), sample D's right tail, and the straight line through the two log values estimates the
// copy D(k + L') that aliases onto k >= k_lo: a bound for log-concave tails (diffusions); heavier
// compound-Poisson tails are caught by the rigorous moment bound that caps this estimate.
inline double period_for_right_alias(const double* y, std::size_t N, double a, double k_lo, double k0, double L,
                                     double du, double log_tol, double mass, double forward) {
  const double dk = L / static_cast<double>(N);
  auto log_tail = [&](double frac) {
    const auto i = static_cast<std::size_t>(std::lround((k_lo + frac * L - k0) / dk)) % N;
    const double kl = k0 + static_cast<double>(i) * dk - L;
    const double left = std::exp(a * (kl - k_lo)) * (forward - mass * std::exp(kl));
    return std::log(std::abs(du / M_PI * y[i] - left));
  };
  const double near = log_tail(0.45), far = log_tail(0.5);
  if (far <= log_tol) return L;  // at or below the tolerance already, and D decreases
  const double slope = (far - near) / (0.05 * L);
  if (!(slope < 0.0)) return 2.0 * L;
  // the period at which the extended line reaches the tolerance
  return std::max(L, 0.5 * L + (log_tol - far) / slope);
}

// The strikes must fit in one period with room for the interpolation stencils (a few dk = L/N at
// each end); the aliasing is bounded separately (MomentTable).
inline double shortest_period(double k_lo, double k_hi) { return 1.1 * (k_hi - k_lo) + 0.2; }

// Cost-based damping. The work is (u range) x (strike period) / 2 pi, and the period is set by the
// two alias bounds: the left one falls with the damping a (rate a + 1 + b), the right one rises
// with it (rate b' - a, b' < a_max), so the period is unimodal in a and a scan of the moment table
// (no transforms) finds its minimum. Lord–Kahl's a (minimal truncation at the nearest strike,
// at most a_hi = a_max / 2) is kept when its period is within 10% of the shortest possible;
// otherwise the scan's a is used when its period is 10% shorter.
// Lord–Kahl's a costs tens of transforms (choose_damping). Its bound -a k + ln M(a + 1) - ln(a(a + 1))
// is known on the table's orders without any, so the table's best order brackets it between its
// neighbours; when the period at both ends of that bracket already loses (not within 10% of the
// shortest, and 10% longer than the scan's best, which lies outside the bracket) the search is
// skipped, as its result would be. Otherwise it runs inside the bracket only.
template <class Model>
double choose_damping_for_period(const Model& model, double tau, const MomentTable& t, double k_lo, double k_hi,
                                 double a_max, double log_tol) {
  const double a_hi = 0.5 * a_max, a_floor = std::min(1e-3, 0.5 * a_hi);
  const double shortest = shortest_period(k_lo, k_hi);
  auto period = [&](double a) {
    return std::max({t.left_period(a, k_hi, log_tol), t.right_period(a, log_tol), shortest});
  };
  auto lord_kahl = [&](double lo, double hi) { return choose_damping(model, tau, k_lo, lo, hi); };
  if (!(t.n_pos > 0 && t.n_neg > 0)) return lord_kahl(a_floor, a_hi);
  double best_a = NAN, best_p = HUGE_VAL;
  for (int i = 1; i <= 24; ++i) {
    const double a = 0.75 * a_max * i / 24.0, p = period(a);
    if (p < best_p) best_a = a, best_p = p;
  }
  // Lord–Kahl bracket from the table's orders b <= a_hi.
  int j_best = -1;
  double f_best = HUGE_VAL;
  for (int j = 0; j < t.n_pos && t.b_pos[j] <= a_hi; ++j) {
    const double b = t.b_pos[j], f = -b * k_lo + t.log_m_pos[j] - std::log(b * (b + 1.0));
    if (f < f_best) f_best = f, j_best = j;
  }
  double lk_lo = a_floor, lk_hi = a_hi;
  if (j_best >= 0) {
    if (j_best > 0) lk_lo = t.b_pos[j_best - 1];
    if (j_best + 1 < t.n_pos && t.b_pos[j_best + 1] <= a_hi) lk_hi = t.b_pos[j_best + 1];
    const double p_edge = std::min(period(lk_lo), period(lk_hi));
    const bool best_outside = best_a < lk_lo || best_a > lk_hi;
    if (best_outside && p_edge > 1.1 * shortest && best_p < 0.9 * p_edge) return best_a;
  }
  const double a_lord_kahl = lord_kahl(lk_lo, lk_hi), p_lk = period(a_lord_kahl);
  if (p_lk <= 1.1 * shortest) return a_lord_kahl;
  return best_p < 0.9 * p_lk ? best_a : a_lord_kahl;
}

template <class Model>
CarrMadanGrid otm_call_prices_damped(const Model& model, double tau, const double* k, std::size_t n, double* out,
                                     CarrMadanWorkspace& ws, const CarrMadanSettings& s, double a,
                                     const MomentTable& moments) {
  CarrMadanGrid grid;
  const double k_lo = *std::min_element(k, k + n), k_hi = *std::max_element(k, k + n);
  const double log_tol = std::log(0.25 * s.tolerance);
  const int m = s.stencil;
  // Mass and forward of the measure (1 for a law; a part of one, characteristic_function.hpp, has less).
  const double mass = model.mass(tau), forward = model.forward(tau);
  const double log_mass = std::log(mass), log_fwd = std::log(forward);
  // Gaussian-equivalent standard deviation (exact for Black–Scholes): K(1/2) = -s^2/8.
  const double convexity = log_moment(model, 0.5, tau) - 0.5 * (log_mass + log_fwd);
  const double scale = std::sqrt(std::max(-8.0 * convexity, 1e-300));
  const double u_max = choose_u_max(model, tau, a, k_lo, log_tol, scale);
  // The left copies are deep in the money, c(k - nL) = M1 - M0 e^{k - nL} + p(k - nL): their
  // intrinsic part is subtracted exactly below, and the put part is kept under tol/4
  // (left_alias_period). The right alias is checked on the transform and the period doubled
  // (reusing every sample when it doubles) until it holds.
  double L = std::max(moments.left_period(a, k_hi, log_tol), shortest_period(k_lo, k_hi));
  double du = 0, dk = 0, k0 = 0;
  std::size_t J = 0, N = 0;
  const double* y = nullptr;
  const double L_safe = moments.right_period(a, log_tol);
  L = std::max(L, std::min(L_safe, 3.0 * L));  // rigorous and usually close: no second sampling
  bool refine = false, converged = false;
  for (int attempt = 0;; ++attempt) {
    du = 2.0 * M_PI / L;
    J = std::min<std::size_t>(static_cast<std::size_t>(std::ceil(u_max / du)) + 1, s.max_points);
    sample_psi(model, tau, a, k_lo, du, J, refine, ws);
    N = choose_fft_size(ws.psi, du, L, m, log_tol);
    dk = L / static_cast<double>(N);
    k0 = k_lo - (m / 2 + 1) * dk;
    y = damped_prices_on_grid(ws.psi, du, k0, N, ws);
    const double needed = std::min(period_for_right_alias(y, N, a, k_lo, k0, L, du, log_tol, mass, forward), L_safe);
    converged = needed <= L && J < s.max_points;
    if (converged || attempt == 8 || J >= s.max_points) break;
    // Doubling keeps every sample (the new grid nests the old one); a smaller step starts afresh.
    refine = needed >= 1.5 * L;
    L = refine ? 2.0 * L : std::max(needed * 1.05, 1.1 * L);
  }
  if (!converged) {  // budget exhausted: no silently wrong numbers
    std::fill(out, out + n, NAN);
    return grid;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double left_intrinsic = forward / std::expm1(a * L) - mass * std::exp(k[i]) / std::expm1((a + 1.0) * L);
    out[i] = std::exp(-a * (k[i] - k_lo)) * du / M_PI * interpolate(y, (k[i] - k0) / dk, m) - left_intrinsic;
  }
  grid.damping = a;
  grid.period = L;
  grid.u_max = du * static_cast<double>(J);
  grid.points = J + 1;
  grid.fft_size = N;
  return grid;
}

}  // namespace

template <class Model>
CarrMadanGrid otm_call_prices(const Model& model, double tau, const double* k, std::size_t n, double* out,
                              CarrMadanWorkspace& ws, const CarrMadanSettings& s) {
  CarrMadanGrid grid;
  if (n == 0) return grid;
  const double k_lo = *std::min_element(k, k + n);
  const double a_max = max_moment_order(model, tau, s.max_moment) - 1.0;
  const double k_hi = *std::max_element(k, k + n);
  const MomentTable moments = moment_table(model, tau, a_max);
  double a = choose_damping_for_period(model, tau, moments, k_lo, k_hi, a_max, std::log(0.25 * s.tolerance));
  // Near a zero of the characteristic function's denominators (close to, but short of, a moment
  // explosion) the contour integrand varies too fast for the error estimates; the result then
  // breaks the no-arbitrage bounds 0 <= c(k) <= 1 by far more than the tolerance. Halve the
  // damping and retry; NaN if that does not help.
  for (int retry = 0; retry < 4; ++retry, a *= 0.5) {
    grid = otm_call_prices_damped(model, tau, k, n, out, ws, s, a, moments);
    const bool sane = std::all_of(out, out + n, [&](double c) { return c >= -s.tolerance && c <= 1.0 + s.tolerance; });
    if (sane) return grid;
  }
  std::fill(out, out + n, NAN);
  return grid;
}

// The models fourier_surface.cpp prices: each for its calls and, under the share measure, its puts.
#define IVFAST_CARR_MADAN_INSTANTIATE(Model)                                                                       \
  template CarrMadanGrid otm_call_prices(const Model&, double, const double*, std::size_t, double*,               \
                                         CarrMadanWorkspace&, const CarrMadanSettings&);                          \
  template CarrMadanGrid otm_call_prices(const ShareMeasure<Model>&, double, const double*, std::size_t, double*, \
                                         CarrMadanWorkspace&, const CarrMadanSettings&);
IVFAST_CARR_MADAN_INSTANTIATE(BlackScholesModel)
IVFAST_CARR_MADAN_INSTANTIATE(HestonModel)
IVFAST_CARR_MADAN_INSTANTIATE(BatesModel)
IVFAST_CARR_MADAN_INSTANTIATE(BatesNoJumpPart)
IVFAST_CARR_MADAN_INSTANTIATE(BatesJumpPart)
#undef IVFAST_CARR_MADAN_INSTANTIATE

}  // namespace ivfast::fourier
