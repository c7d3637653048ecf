// Vectorised American prices and implied volatilities (american.hpp) over OpenMP threads.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ivfast/american.hpp"
#include "ivfast/black.hpp"
#include "ivfast/lets_be_rational.hpp"
#include "ivfast/parallel.hpp"

namespace ivfast::american {
namespace {

using lbr::Status;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Search range of the inversion: below kMinVol an American price is its zero-volatility value
// to far below the pricer's accuracy; above kMaxVol no listed option trades.
constexpr double kMinVol = 1e-4;
constexpr double kMaxVol = 10.0;
// Stop when the bracket is this narrow relative to the volatility: well below the pricer's own
// accuracy (about 1e-7 of the price, i.e. of order 1e-7 / (vega/price) in volatility).
constexpr double kVolTolerance = 1e-9;
constexpr double kCoarseVolTolerance = 1e-5;
constexpr double kPriceTolerance = 1e-10;
// The pricer's accuracy at its default grid: 1e-6 of the price or of 1e-3 * strike.
constexpr double kAbsoluteAccuracy = 1e-9;
constexpr int kMaxEvaluations = 40;

struct Outcome {
  double vol;
  Status status;
};

// European volatility of the price on the spot model's forward: the starting point (exact for
// calls without dividends, which are never exercised early; above the American one otherwise).
double european_guess(double target, const Contract& k, const Market& m) {
  const double fwd = forward(k, m), df = discount(k, m);
  if (!(fwd > 0.0)) return 0.3;
  const double v = lbr::implied_vol(target / df, fwd, k.strike, k.tau, k.is_call).value;
  return std::isfinite(v) && v > kMinVol && v < kMaxVol ? v : 0.3;
}

// Safeguarded secant on the increasing map vol -> price: secant steps from the last two
// points, replaced by bisection whenever they leave the bracket known so far (Dekker's
// safeguard, Brent, "Algorithms for Minimization without Derivatives", 1973, ch. 4), and by
// geometric expansion while only one side of the bracket is known. Starts at x0 with a Newton
// step on the slope estimate `slope`; stops when a step is below `tolerance` of the volatility
// (accepting that last secant step unevaluated: the secant's error is then far smaller still).
struct Search {
  Outcome outcome;
  double slope;  // the last secant slope dPrice/dvol, for a later search on a finer grid
};

Search search(double target, Contract k, const Market& m, const Grid& grid, double intrinsic, double x0, double slope,
              double tolerance) {
  auto excess = [&](double vol) {
    k.vol = vol;
    return price(k, m, grid) - target;
  };
  double lo = 0.0, f_lo = kNaN, hi = kMaxVol * 2.0, f_hi = kNaN;
  bool have_lo = false, have_hi = false;
  double x_prev = x0, f_prev = excess(x_prev);
  double x = slope > 0.0 ? std::clamp(x_prev - f_prev / slope, 0.5 * x_prev, 2.0 * x_prev) : 0.9 * x_prev;
  if (x == x_prev) x = x_prev * (1.0 - 100.0 * tolerance);
  double f = excess(x);
  auto done = [&](double vol, Status status) { return Search{{vol, status}, slope}; };
  for (int evaluations = 2;; ++evaluations) {
    for (const auto& [xv, fv] : {std::pair{x_prev, f_prev}, std::pair{x, f}}) {
      if (!std::isfinite(fv)) return done(kNaN, Status::kNoConvergence);
      if (fv == 0.0) return done(xv, Status::kOk);
      if (fv < 0.0 && (!have_lo || xv > lo)) lo = xv, f_lo = fv, have_lo = true;
      if (fv > 0.0 && (!have_hi || xv < hi)) hi = xv, f_hi = fv, have_hi = true;
    }
    if (f != f_prev) slope = (f - f_prev) / (x - x_prev);
    // Converged: the price matches to far below the pricer's accuracy, or the bracket is below
    // the volatility tolerance.
    if (std::abs(f) <= kPriceTolerance * target) return done(x, Status::kOk);
    if (have_lo && have_hi && hi - lo <= tolerance * hi) return done(std::abs(f_lo) < std::abs(f_hi) ? lo : hi, Status::kOk);
    if (evaluations >= kMaxEvaluations) return done(kNaN, Status::kNoConvergence);
    double next = f != f_prev ? x - f / slope : kNaN;
    const bool inside = !(have_lo && have_hi) || (next > lo && next < hi);
    if (std::isfinite(next) && inside && std::abs(next - x) <= tolerance * x) return done(next, Status::kOk);
    if (have_lo && have_hi) {
      if (!inside) next = 0.5 * (lo + hi);
      // Secant steps that creep in from one side: bisect when the step is a small part of the bracket.
      else if (std::min(next - lo, hi - next) < 1e-3 * (hi - lo) && evaluations % 3 == 0) next = 0.5 * (lo + hi);
    } else if (have_hi) {  // every volatility tried is too high
      if (hi <= kMinVol) {
        // Even the smallest volatility prices above the target: the target is the option's
        // zero-volatility (early-exercise or forward) value or below it.
        return done(kNaN, intrinsic > 0.0 ? Status::kEarlyExercise : Status::kBelowIntrinsic);
      }
      next = std::isfinite(next) && next > 0.25 * hi && next < hi ? next : 0.25 * hi;
      next = std::max(next, kMinVol);
    } else {  // every volatility tried is too low (or the price is flat there: deep in the exercise region)
      if (lo >= kMaxVol) return done(kNaN, Status::kAboveUpperBound);
      next = std::isfinite(next) && next > lo && next < 4.0 * lo ? next : 4.0 * lo;
      next = std::min(next, kMaxVol);
    }
    x_prev = x, f_prev = f;
    x = next;
    f = excess(x);
  }
}

// Two searches: to 1e-5 on a grid half as fine each way (a quarter of the cost), then from its
// root and slope on the requested grid, where two or three prices usually finish.
Outcome invert(double target, Contract k, const Market& m, const Grid& grid) {
  const double intrinsic = std::max(k.is_call ? k.spot - k.strike : k.strike - k.spot, 0.0);
  const double upper = k.is_call ? k.spot : k.strike;
  if (target >= upper) return {kNaN, Status::kAboveUpperBound};
  // Below the exercise value (up to the price's own rounding) no volatility reproduces it.
  const double rounding = 4.0 * std::numeric_limits<double>::epsilon() * std::max(target, intrinsic);
  if (target < intrinsic - rounding) return {kNaN, Status::kBelowIntrinsic};
  if (intrinsic > 0.0 && target <= intrinsic + rounding) return {kNaN, Status::kEarlyExercise};
  // Time value below the pricer's absolute accuracy carries no volatility information.
  if (target - intrinsic < kAbsoluteAccuracy * k.strike) return {kNaN, Status::kBelowPriceAccuracy};
  const double guess = european_guess(target, k, m);
  const double vega = black::vega(forward(k, m), k.strike, k.tau, guess) * discount(k, m);
  const Grid coarse{std::max(grid.space_nodes / 2, 8), std::max(grid.time_steps / 2, 4), grid.extrapolate};
  const Search first = search(target, k, m, coarse, intrinsic, guess, vega, kCoarseVolTolerance);
  if (first.outcome.status != Status::kOk) {
    // Outside the coarse grid's reach (a bound, or a price at its accuracy): decide on the real grid.
    return search(target, k, m, grid, intrinsic, guess, vega, kVolTolerance).outcome;
  }
  return search(target, k, m, grid, intrinsic, first.outcome.vol, first.slope, kVolTolerance).outcome;
}

}  // namespace

void price(const PriceInputs& in, const Market& market, const Grid& grid, std::size_t n, double* out, int threads) {
  const int nt = parallel::resolve_threads(threads, n, 1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (std::ptrdiff_t s = 0; s < static_cast<std::ptrdiff_t>(n); ++s) {
    const auto i = static_cast<std::size_t>(s);
    const Contract k{in.spot[i], in.strike[i], in.tau[i], in.vol[i], in.rate[i], in.dividend_yield[i], in.is_call[i] != 0};
    try {
      out[i] = american::price(k, market, grid);
    } catch (...) {  // allocation failure: the element is lost, the batch and the interpreter are not
      out[i] = kNaN;
    }
  }
}

void implied_vol(const InversionInputs& in, const Market& market, const Grid& grid, std::size_t n, double* out,
                 std::int8_t* status, int threads) {
  const int nt = parallel::resolve_threads(threads, n, 1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (std::ptrdiff_t s = 0; s < static_cast<std::ptrdiff_t>(n); ++s) {
    const auto i = static_cast<std::size_t>(s);
    const Contract k{in.spot[i], in.strike[i], in.tau[i], 0.2, in.rate[i], in.dividend_yield[i], in.is_call[i] != 0};
    const double target = in.price[i];
    Outcome o{kNaN, Status::kInvalidInput};
    const bool ok = std::isfinite(target) && target > 0.0 && std::isfinite(k.spot) && k.spot > 0.0 &&
                    std::isfinite(k.strike) && k.strike > 0.0 && std::isfinite(k.tau) && k.tau > 0.0 &&
                    std::isfinite(k.rate) && std::isfinite(k.dividend_yield);
    if (ok) {
      try {
        o = invert(target, k, market, grid);
      } catch (...) {
        o = {kNaN, Status::kNoConvergence};
      }
    }
    out[i] = o.status == Status::kOk ? o.vol : kNaN;
    status[i] = static_cast<std::int8_t>(o.status);
  }
}

}  // namespace ivfast::american
