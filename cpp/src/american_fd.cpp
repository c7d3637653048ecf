// The finite-difference American pricer of american.hpp (the method and its sources are cited there).
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "ivfast/american.hpp"

namespace ivfast::american {

ZeroCurve::ZeroCurve(std::vector<double> times, std::vector<double> zero_rates)
    : times_(std::move(times)), rates_(std::move(zero_rates)) {
  if (times_.size() != rates_.size()) throw std::invalid_argument("rate curve: as many zero rates as times expected");
  for (std::size_t i = 0; i < times_.size(); ++i) {
    if (!(std::isfinite(times_[i]) && times_[i] > 0.0) || !std::isfinite(rates_[i]) ||
        (i > 0 && !(times_[i] > times_[i - 1]))) {
      throw std::invalid_argument("rate curve: expected finite, positive, increasing times and finite rates");
    }
  }
}

double ZeroCurve::zero_rate(double t) const {
  if (t <= times_.front()) return rates_.front();
  if (t >= times_.back()) return rates_.back();
  const auto hi = static_cast<std::size_t>(std::upper_bound(times_.begin(), times_.end(), t) - times_.begin());
  const double w = (t - times_[hi - 1]) / (times_[hi] - times_[hi - 1]);
  return rates_[hi - 1] + w * (rates_[hi] - rates_[hi - 1]);
}

void Market::validate() const {
  for (const CashDividend& d : dividends) {
    if (!std::isfinite(d.time) || !(std::isfinite(d.amount) && d.amount >= 0.0)) {
      throw std::invalid_argument("dividends: expected finite times and finite, non-negative cash amounts");
    }
  }
}

namespace {

// -ln(discount) from 0 to calendar time t.
double log_discount(const Contract& k, const Market& m, double t) {
  return (m.curve.empty() ? k.rate : m.curve.zero_rate(t)) * t;
}

// Dividends strictly inside (0, tau), merged by date, ascending.
std::vector<CashDividend> live_dividends(const Contract& k, const Market& m) {
  std::vector<CashDividend> live;
  for (const CashDividend& d : m.dividends) {
    if (d.time > 0.0 && d.time < k.tau && d.amount > 0.0) live.push_back(d);
  }
  std::sort(live.begin(), live.end(), [](const CashDividend& a, const CashDividend& b) { return a.time < b.time; });
  std::vector<CashDividend> merged;
  for (const CashDividend& d : live) {
    if (!merged.empty() && merged.back().time == d.time) {
      merged.back().amount += d.amount;
    } else {
      merged.push_back(d);
    }
  }
  return merged;
}

bool valid(const Contract& k) {
  return std::isfinite(k.spot) && k.spot > 0.0 && std::isfinite(k.strike) && k.strike > 0.0 && std::isfinite(k.tau) &&
         k.tau > 0.0 && std::isfinite(k.vol) && k.vol > 0.0 && std::isfinite(k.rate) && std::isfinite(k.dividend_yield);
}

// Half-width of the log-spot grid in standard deviations: the truncation error of the far
// boundaries (Dirichlet values from the asymptotes, not zero) was below 1e-8 of the price in tests.
constexpr double kWidth = 6.0;
// Sinh stretching scale in standard deviations (smaller: more nodes near the strike); chosen with
// the width by the errors against QuantLib's QD+ engine over random contracts.
constexpr double kConcentration = 0.3;
// Crank-Nicolson steps replaced by two implicit Euler half-steps at the start of each period.
constexpr int kRannacherSteps = 2;

// y_i = yc + c sinh(xi0 + i h), i = 0..nodes; the spot is node `spot_node`.
struct Layout {
  double yc, c, xi0, h;
  int nodes, spot_node;
};

Layout make_layout(const Contract& k, const std::vector<CashDividend>& divs, int nodes) {
  const double sd = k.vol * std::sqrt(k.tau);
  double paid = 0.0;
  for (const CashDividend& d : divs) paid += d.amount;
  const double ex_spot = std::max(k.spot - paid, 1e-3 * k.spot);
  const double y_lo = std::min(std::log(ex_spot), std::log(k.strike)) - kWidth * sd;
  const double y_hi = std::max(std::log(k.spot), std::log(k.strike)) + kWidth * sd;
  Layout g{};
  g.yc = std::log(k.strike);
  g.c = kConcentration * sd;
  const double xi_lo = std::asinh((y_lo - g.yc) / g.c);
  const double xi_hi = std::asinh((y_hi - g.yc) / g.c);
  g.h = (xi_hi - xi_lo) / nodes;
  const double xi_s = std::asinh((std::log(k.spot) - g.yc) / g.c);
  g.spot_node = std::clamp(static_cast<int>(std::lround((xi_s - xi_lo) / g.h)), 2, nodes - 2);
  g.xi0 = xi_s - g.spot_node * g.h;
  g.nodes = nodes;
  return g;
}

Layout refine(const Layout& g) { return {g.yc, g.c, g.xi0, g.h / 2.0, 2 * g.nodes, 2 * g.spot_node}; }

class Solver {
 public:
  Solver(const Contract& k, const Market& m, const std::vector<CashDividend>& divs, const Layout& g)
      : k_(k), m_(m), divs_(divs), g_(g), theta_(k.is_call ? 1.0 : -1.0) {
    const int n = g.nodes + 1;
    y_.resize(n);
    s_.resize(n);
    for (int i = 0; i < n; ++i) {
      y_[i] = g.yc + g.c * std::sinh(g.xi0 + i * g.h);
      s_[i] = std::exp(y_[i]);
    }
    d1m_.assign(n, 0.0), d10_.assign(n, 0.0), d1p_.assign(n, 0.0);
    d2m_.assign(n, 0.0), d20_.assign(n, 0.0), d2p_.assign(n, 0.0);
    for (int i = 1; i < n - 1; ++i) {
      const double hm = y_[i] - y_[i - 1], hp = y_[i + 1] - y_[i];
      d1m_[i] = -hp / (hm * (hm + hp));
      d10_[i] = (hp - hm) / (hm * hp);
      d1p_[i] = hm / (hp * (hm + hp));
      d2m_[i] = 2.0 / (hm * (hm + hp));
      d20_[i] = -2.0 / (hm * hp);
      d2p_[i] = 2.0 / (hp * (hm + hp));
    }
    exercise_.resize(n);
    for (int i = 0; i < n; ++i) exercise_[i] = std::max(theta_ * (s_[i] - k.strike), 0.0);
    a_.resize(n), b_.resize(n), c_.resize(n), rhs_.resize(n), inv_diag_.resize(n), factor_.resize(n), next_.resize(n);
  }

  // American value at the spot with `time_steps` steps over tau, shared out over the dividend periods.
  double run(int time_steps) {
    std::vector<double> v = initial_values();
    // Periods between ex-dates, walked from expiry (tau = 0) backwards in calendar time.
    std::vector<double> bounds{0.0};
    for (auto it = divs_.rbegin(); it != divs_.rend(); ++it) bounds.push_back(k_.tau - it->time);
    bounds.push_back(k_.tau);
    for (std::size_t p = 0; p + 1 < bounds.size(); ++p) {
      const double start = bounds[p], length = bounds[p + 1] - start;
      const int steps = std::max(kRannacherSteps + 2, static_cast<int>(std::ceil(time_steps * length / k_.tau)));
      double tau = start;
      for (int j = 1; j <= steps; ++j) {
        // Uniform in sqrt(time since the period began): the exercise boundary moves like sqrt(tau).
        const double u = static_cast<double>(j) / steps;
        const double tau_next = start + length * u * u;
        if (j <= kRannacherSteps) {
          const double mid = 0.5 * (tau + tau_next);
          step(v, tau, mid, 1.0);
          step(v, mid, tau_next, 1.0);
        } else {
          step(v, tau, tau_next, 0.5);
        }
        tau = tau_next;
      }
      if (p + 1 < bounds.size() - 1) pay_dividend(v, divs_[divs_.size() - 1 - p].amount, tau);
    }
    return v[g_.spot_node];
  }

 private:
  std::vector<double> initial_values() const {
    std::vector<double> v = exercise_;
    // Average the payoff over the cell holding the strike: restores second-order convergence.
    const double yk = std::log(k_.strike);
    for (int i = 1; i < g_.nodes; ++i) {
      const double lo = 0.5 * (y_[i - 1] + y_[i]), hi = 0.5 * (y_[i] + y_[i + 1]);
      if (lo <= yk && yk < hi) {
        const double in_call = std::exp(hi) - k_.strike - k_.strike * (hi - yk);  // integral of (e^y - K) on [yk, hi]
        const double in_put = k_.strike * (yk - lo) - (k_.strike - std::exp(lo));  // integral of (K - e^y) on [lo, yk]
        v[i] = (k_.is_call ? in_call : in_put) / (hi - lo);
        break;
      }
    }
    return v;
  }

  double calendar(double tau) const { return k_.tau - tau; }

  // Values at the grid's ends: deep out of the money 0, deep in the money the larger of the
  // exercise value and the European's asymptote.
  double boundary(double s, double tau) const {
    if (k_.is_call == (s < k_.strike)) return 0.0;
    const double t = calendar(tau);
    const double df = std::exp(log_discount(k_, m_, t) - log_discount(k_, m_, k_.tau));
    const double qf = std::exp(-k_.dividend_yield * tau);
    double pv_divs = 0.0;
    for (const CashDividend& d : divs_) {
      if (d.time > t) pv_divs += d.amount * std::exp(log_discount(k_, m_, t) - log_discount(k_, m_, d.time));
    }
    const double european = theta_ * (s * qf - pv_divs - k_.strike * df);
    return std::max(theta_ * (std::max(s - (k_.is_call ? 0.0 : pv_divs), 0.0) - k_.strike), european);
  }

  // One theta-scheme step (theta = 1/2 Crank-Nicolson, 1 implicit Euler) of the American values.
  void step(std::vector<double>& v, double tau, double tau_next, double theta) {
    const double dt = tau_next - tau;
    const double t_hi = calendar(tau), t_lo = calendar(tau_next);
    const double r = (log_discount(k_, m_, t_hi) - log_discount(k_, m_, t_lo)) / (t_hi - t_lo);
    const double half_var = 0.5 * k_.vol * k_.vol;
    const double mu = r - k_.dividend_yield - half_var;
    const int last = g_.nodes;
    for (int i = 1; i < last; ++i) {
      a_[i] = half_var * d2m_[i] + mu * d1m_[i];
      b_[i] = half_var * d20_[i] + mu * d10_[i] - r;
      c_[i] = half_var * d2p_[i] + mu * d1p_[i];
    }
    const double implicit_w = theta * dt;
    // Brennan-Schwartz: eliminate towards the exercise region's far side, then substitute from
    // the exercise side taking max(continuation, exercise) node by node. Exact for the
    // tridiagonal complementarity problem when the exercise region is one interval at that end.
    if (k_.is_call) {
      inv_diag_[0] = 1.0;
      for (int i = 1; i < last; ++i) {
        const double upper_prev = i == 1 ? 0.0 : -implicit_w * c_[i - 1];
        factor_[i] = -implicit_w * a_[i] * inv_diag_[i - 1];
        inv_diag_[i] = 1.0 / (1.0 - implicit_w * b_[i] - factor_[i] * upper_prev);
      }
    } else {
      inv_diag_[last] = 1.0;
      for (int i = last - 1; i >= 1; --i) {
        const double lower_next = i == last - 1 ? 0.0 : -implicit_w * a_[i + 1];
        factor_[i] = -implicit_w * c_[i] * inv_diag_[i + 1];
        inv_diag_[i] = 1.0 / (1.0 - implicit_w * b_[i] - factor_[i] * lower_next);
      }
    }
    const double explicit_w = (1.0 - theta) * dt;
    rhs_[0] = boundary(s_[0], tau_next);
    rhs_[last] = boundary(s_[last], tau_next);
    for (int i = 1; i < last; ++i) {
      rhs_[i] = v[i] + explicit_w * (a_[i] * v[i - 1] + b_[i] * v[i] + c_[i] * v[i + 1]);
    }
    if (k_.is_call) {
      for (int i = 1; i < last; ++i) rhs_[i] -= factor_[i] * rhs_[i - 1];
      next_[last] = rhs_[last];
      for (int i = last - 1; i >= 1; --i) {
        const double cont = (rhs_[i] + implicit_w * c_[i] * next_[i + 1]) * inv_diag_[i];
        next_[i] = std::max(cont, exercise_[i]);
      }
    } else {
      for (int i = last - 1; i >= 1; --i) rhs_[i] -= factor_[i] * rhs_[i + 1];
      next_[0] = rhs_[0];
      for (int i = 1; i < last; ++i) {
        const double cont = (rhs_[i] + implicit_w * a_[i] * next_[i - 1]) * inv_diag_[i];
        next_[i] = std::max(cont, exercise_[i]);
      }
    }
    next_[0] = rhs_[0];
    next_[last] = rhs_[last];
    v.swap(next_);
  }

  // V(S, before ex-date) = V(S - D, after), cubic Lagrange interpolation in y; then exercise.
  void pay_dividend(std::vector<double>& v, double amount, double tau) {
    const int last = g_.nodes;
    for (int i = 0; i <= last; ++i) {
      const double ex = s_[i] - amount;
      double value;
      if (ex <= s_[0]) {
        value = boundary(std::max(ex, 0.0), tau);
      } else {
        const double y = std::log(ex);
        const double xi = std::asinh((y - g_.yc) / g_.c);
        const int j = std::clamp(static_cast<int>(std::floor((xi - g_.xi0) / g_.h)), 1, last - 2);
        value = 0.0;
        for (int a = j - 1; a <= j + 2; ++a) {
          double w = 1.0;
          for (int b = j - 1; b <= j + 2; ++b) {
            if (b != a) w *= (y - y_[b]) / (y_[a] - y_[b]);
          }
          value += w * v[a];
        }
      }
      next_[i] = std::max(value, exercise_[i]);
    }
    v.swap(next_);
  }

  const Contract& k_;
  const Market& m_;
  const std::vector<CashDividend>& divs_;
  Layout g_;
  double theta_;
  std::vector<double> y_, s_, d1m_, d10_, d1p_, d2m_, d20_, d2p_, exercise_, a_, b_, c_, rhs_, inv_diag_, factor_, next_;
};

}  // namespace

double forward(const Contract& k, const Market& m) {
  const double growth_to_tau = log_discount(k, m, k.tau) - k.dividend_yield * k.tau;  // ln of e^{(r-q) tau}
  double f = k.spot * std::exp(growth_to_tau);
  for (const CashDividend& d : live_dividends(k, m)) {
    const double growth_to_ex = log_discount(k, m, d.time) - k.dividend_yield * d.time;
    f -= d.amount * std::exp(growth_to_tau - growth_to_ex);
  }
  return f;
}

double discount(const Contract& k, const Market& m) { return std::exp(-log_discount(k, m, k.tau)); }

double price(const Contract& k, const Market& m, const Grid& grid) {
  if (!valid(k) || grid.space_nodes < 8 || grid.time_steps < 4) return std::numeric_limits<double>::quiet_NaN();
  const std::vector<CashDividend> divs = live_dividends(k, m);
  const Layout coarse = make_layout(k, divs, grid.space_nodes);
  const double p_coarse = Solver(k, m, divs, coarse).run(grid.time_steps);
  if (!grid.extrapolate) return p_coarse;
  const double p_fine = Solver(k, m, divs, refine(coarse)).run(2 * grid.time_steps);
  // Both errors are O(h^2 + dt^2): the combination cancels the leading term.
  const double extrapolated = (4.0 * p_fine - p_coarse) / 3.0;
  const double floor = std::max(k.is_call ? k.spot - k.strike : k.strike - k.spot, 0.0);
  return std::max(extrapolated, floor);
}

}  // namespace ivfast::american
