// Times the implied-volatility kernel alone (no Python): ns/option on issue 2's recipe,
// single-threaded through the scalar entry point and through the OpenMP batch loop.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "ivfast/black.hpp"
#include "ivfast/black_batch.hpp"
#include "ivfast/lets_be_rational.hpp"
#include "timing.hpp"

using ivfast_bench::best_seconds;

namespace {

struct Rows {
  std::vector<double> price, strike, tau, sigma;
  std::vector<std::uint8_t> is_call;
};

Rows make_rows(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Rows r;
  for (std::size_t i = 0; i < n; ++i) {
    const double sigma = std::exp(std::log(0.01) + u(rng) * (std::log(3.0) - std::log(0.01)));
    const double tau = std::exp(std::log(1.0 / 365.0) + u(rng) * (std::log(10.0) + std::log(365.0)));
    const bool call = u(rng) < 0.5;
    double h = -5.0 + 10.0 * u(rng);
    if (u(rng) < 0.1) h = (call ? -1.0 : 1.0) * (5.0 + 15.0 * u(rng));
    const double strike = 100.0 * std::exp(-h * sigma * std::sqrt(tau));
    r.price.push_back(ivfast::black::price(100.0, strike, tau, sigma, call));
    r.strike.push_back(strike);
    r.tau.push_back(tau);
    r.sigma.push_back(sigma);
    r.is_call.push_back(call ? 1 : 0);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000000;
  const Rows r = make_rows(n, 42);
  std::vector<double> out(n);
  std::vector<std::int8_t> status(n);
  volatile double sink = 0.0;
  const double scalar = best_seconds(
      [&] {
        double acc = 0.0;
        for (std::size_t i = 0; i < n; ++i)
          acc += ivfast::lbr::implied_vol(r.price[i], 100.0, r.strike[i], r.tau[i], r.is_call[i] != 0).value;
        sink = acc;
      },
      5);
  const double forward = 100.0, discount = 1.0;
  const ivfast::black_batch::InversionInputs in{{r.price.data(), 1}, {&forward, 0}, {r.strike.data(), 1},
                                                {r.tau.data(), 1},   {&discount, 0}, {r.is_call.data(), 1}};
  const double batch1 = best_seconds([&] { ivfast::black_batch::implied_vol(in, n, out.data(), status.data(), 1); }, 5);
  const double batch_all = best_seconds([&] { ivfast::black_batch::implied_vol(in, n, out.data(), status.data(), 0); }, 5);
  std::size_t failures = 0;
  double max_rel = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(out[i])) ++failures;
    else max_rel = std::max(max_rel, std::fabs(out[i] / r.sigma[i] - 1.0));
  }
  std::printf("implied vol kernel, %zu options (best of 5)\n", n);
  std::printf("  kernel copy in use    : %s\n", ivfast::black_batch::select_isa("").c_str());
  std::printf("  scalar loop, 1 thread : %7.1f ns/option (portable copy)\n", scalar / n * 1e9);
  std::printf("  batch, 1 thread       : %7.1f ns/option\n", batch1 / n * 1e9);
  std::printf("  batch, all threads    : %7.1f ns/option\n", batch_all / n * 1e9);
  std::printf("  non-finite results    : %zu (rows whose rounded price is at a bound)\n", failures);
  (void)sink;
  return 0;
}
