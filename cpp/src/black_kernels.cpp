#include "ivfast/black_kernels.hpp"

#include <cmath>
#include <limits>

#include "ivfast/black.hpp"
#include "ivfast/lets_be_rational.hpp"
#include "ivfast/parallel.hpp"

namespace ivfast::IVFAST_ISA::black_kernels {

using black_batch::BlackInputs;
using black_batch::InversionInputs;

namespace {

bool valid_discount(double d) { return d > 0.0 && std::isfinite(d); }

// discount * f(forward, strike, tau, vol, is_call) over the batch; NaN for an invalid discount.
template <class Undiscounted>
void discounted_map(const BlackInputs& in, std::size_t n, double* out, int threads, Undiscounted f) {
  const int nt = parallel::resolve_threads(threads, n);
  const auto count = static_cast<std::ptrdiff_t>(n);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (std::ptrdiff_t j = 0; j < count; ++j) {
    const auto i = static_cast<std::size_t>(j);
    const double d = in.discount[i];
    out[i] = valid_discount(d) ? d * f(in.forward[i], in.strike[i], in.tau[i], in.vol[i], in.is_call[i] != 0)
                               : std::numeric_limits<double>::quiet_NaN();
  }
}

}  // namespace

void price(const BlackInputs& in, std::size_t n, double* out, int threads) {
  discounted_map(in, n, out, threads, [](double f, double k, double t, double v, bool c) {
    return black::price(f, k, t, v, c);
  });
}

void vega(const BlackInputs& in, std::size_t n, double* out, int threads) {
  discounted_map(in, n, out, threads, [](double f, double k, double t, double v, bool) {
    return black::vega(f, k, t, v);
  });
}

void implied_vol(const InversionInputs& in, std::size_t n, double* out, std::int8_t* status, int threads) {
  const int nt = parallel::resolve_threads(threads, n, 512);
  const auto count = static_cast<std::ptrdiff_t>(n);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (std::ptrdiff_t j = 0; j < count; ++j) {
    const auto i = static_cast<std::size_t>(j);
    const double d = in.discount[i];
    lbr::Result r{std::numeric_limits<double>::quiet_NaN(), lbr::Status::kInvalidInput};
    if (valid_discount(d)) r = lbr::implied_vol(in.price[i] / d, in.forward[i], in.strike[i], in.tau[i], in.is_call[i] != 0);
    out[i] = r.value;
    status[i] = static_cast<std::int8_t>(r.status);
  }
}

}  // namespace ivfast::IVFAST_ISA::black_kernels
