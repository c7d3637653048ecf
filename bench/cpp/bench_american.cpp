// Times the American pricer and implied-vol kernel alone (no Python) on the chain of
// bench/bench_american.py: spot 100, 10 expiries 1 week - 2 years, 41 strikes over +-2.5 sd,
// calls and puts, smile 0.2 + 0.1 k^2 / tau capped at 60 %, rate 4 %, yield 1.3 %; and the same
// chain with quarterly cash dividends of 0.5 instead of the yield. Quotes are the kernel's own
// prices on a 4x finer grid, so the inversion's vol errors show its pricing error too.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "ivfast/american.hpp"
#include "timing.hpp"

namespace am = ivfast::american;

using ivfast_bench::best_seconds;

namespace {

struct Chain {
  std::vector<double> strike, tau, vol, price;
  std::vector<std::uint8_t> is_call;
};

Chain make_chain(const am::Market& market, double yield) {
  const int days[] = {7, 14, 30, 61, 91, 182, 273, 365, 547, 730};
  Chain c;
  for (int d : days) {
    const double tau = d / 365.0, atm = 0.2;
    for (int j = 0; j < 41; ++j) {
      const double k_sd = -2.5 + 0.125 * j;
      const double fwd = 100.0 * std::exp((0.04 - yield) * tau);
      const double strike = fwd * std::exp(k_sd * atm * std::sqrt(tau));
      const double k = std::log(strike / fwd);
      const double vol = std::min(0.2 + 0.1 * k * k / tau, 0.6);
      for (int call = 0; call < 2; ++call) {
        c.strike.push_back(strike);
        c.tau.push_back(tau);
        c.vol.push_back(vol);
        c.is_call.push_back(static_cast<std::uint8_t>(call));
      }
    }
  }
  const double spot = 100.0, rate = 0.04;
  const am::PriceInputs in{{&spot, 0}, {c.strike.data(), 1}, {c.tau.data(), 1}, {c.vol.data(), 1},
                           {&rate, 0}, {&yield, 0},          {c.is_call.data(), 1}};
  c.price.resize(c.strike.size());
  am::price(in, market, am::Grid{1280, 400, true}, c.strike.size(), c.price.data(), 0);
  return c;
}

void run(const char* name, const am::Market& market, double yield) {
  const Chain c = make_chain(market, yield);
  const std::size_t n = c.strike.size();
  const double spot = 100.0, rate = 0.04;
  const am::Grid grid{};
  std::vector<double> out(n);
  std::vector<std::int8_t> status(n);
  const am::PriceInputs pin{{&spot, 0}, {c.strike.data(), 1}, {c.tau.data(), 1}, {c.vol.data(), 1},
                            {&rate, 0}, {&yield, 0},          {c.is_call.data(), 1}};
  const am::InversionInputs iin{{c.price.data(), 1}, {&spot, 0}, {c.strike.data(), 1}, {c.tau.data(), 1},
                                {&rate, 0},          {&yield, 0}, {c.is_call.data(), 1}};
  const double price1 = best_seconds([&] { am::price(pin, market, grid, n, out.data(), 1); }, 3);
  const double iv1 = best_seconds([&] { am::implied_vol(iin, market, grid, n, out.data(), status.data(), 1); }, 3);
  const double iv_all = best_seconds([&] { am::implied_vol(iin, market, grid, n, out.data(), status.data(), 0); }, 3);
  std::vector<double> err;
  std::size_t not_ok = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (status[i] != 0) ++not_ok;
    else err.push_back(std::fabs(out[i] - c.vol[i]));
  }
  std::sort(err.begin(), err.end());
  std::printf("%s: %zu options, grid %dx%d (best of 3)\n", name, n, grid.space_nodes, grid.time_steps);
  std::printf("  price, 1 thread      : %8.1f us/option  (%8.0f prices/s)\n", price1 / n * 1e6, n / price1);
  std::printf("  implied vol, 1 thread: %8.1f us/option  (%8.0f IVs/s)\n", iv1 / n * 1e6, n / iv1);
  std::printf("  implied vol, all     : %8.1f us/option  (%8.0f IVs/s)\n", iv_all / n * 1e6, n / iv_all);
  std::printf("  vol error vs the fine-grid quotes: median %.1e, max %.1e; %zu without a vol (status != OK)\n",
              err.empty() ? 0.0 : err[err.size() / 2], err.empty() ? 0.0 : err.back(), not_ok);
}

}  // namespace

int main() {
  run("continuous yield 1.3 %", am::Market{}, 0.013);
  am::Market cash;
  for (int q = 0; q < 8; ++q) cash.dividends.push_back({0.1 + 0.25 * q, 0.5});
  run("quarterly cash dividends 0.5", cash, 0.0);
  return 0;
}
