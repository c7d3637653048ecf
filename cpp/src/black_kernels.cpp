#include "ivfast/black_kernels.hpp"

#include <algorithm>
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
  constexpr std::size_t kBlock = lbr::kBlockSize;
  const int nt = parallel::resolve_threads(threads, n, 512);
  const auto blocks = static_cast<std::ptrdiff_t>((n + kBlock - 1) / kBlock);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (std::ptrdiff_t block = 0; block < blocks; ++block) {
    const std::size_t begin = static_cast<std::size_t>(block) * kBlock, end = std::min(n, begin + kBlock);
    // Rows that need the iteration are gathered and inverted together (lbr's batch path).
    lbr::Problem problems[kBlock];
    std::size_t rows[kBlock];
    double s[kBlock];
    std::size_t m = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const double d = in.discount[i];
      lbr::Result r{std::numeric_limits<double>::quiet_NaN(), lbr::Status::kInvalidInput};
      if (valid_discount(d)) r = lbr::reduce(in.price[i] / d, in.forward[i], in.strike[i], in.tau[i], in.is_call[i] != 0, problems[m]);
      if (r.status == lbr::Status::kNeedsIteration) {
        rows[m++] = i;
        r.status = lbr::Status::kOk;
      }
      out[i] = r.value;
      status[i] = static_cast<std::int8_t>(r.status);
    }
    lbr::normalised_otm_total_vols(problems, m, s);
    for (std::size_t j = 0; j < m; ++j) out[rows[j]] = s[j] / std::sqrt(in.tau[rows[j]]);
  }
}

}  // namespace ivfast::IVFAST_ISA::black_kernels
