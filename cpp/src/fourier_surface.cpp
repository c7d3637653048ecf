#include "ivfast/fourier_surface.hpp"

#include <cmath>
#include <vector>

#include "carr_madan.hpp"
#include "characteristic_function.hpp"
#include "ivfast/parallel.hpp"

namespace ivfast::fourier {

int parameter_count(ModelKind kind) {
  switch (kind) {
    case ModelKind::black_scholes: return 1;
    case ModelKind::heston: return 5;
    case ModelKind::bates: return 8;
  }
  return 0;
}

namespace {

// Per-thread scratch: the two wings' log-moneyness, their prices, and the FFT buffers.
struct SliceScratch {
  std::vector<double> k_call, k_put, c_call, c_put, part_call, part_put;
  std::vector<std::size_t> idx_call, idx_put;
  CarrMadanWorkspace fft;
};

// Out-of-the-money calls at s.k_call and puts (as calls under the reflected share measure) at s.k_put.
template <class Model>
void otm_wings(const Model& model, double tau, SliceScratch& s, double* calls, double* puts,
               const CarrMadanSettings& settings) {
  otm_call_prices(model, tau, s.k_call.data(), s.k_call.size(), calls, s.fft, settings);
  otm_call_prices(ShareMeasure<Model>{model}, tau, s.k_put.data(), s.k_put.size(), puts, s.fft, settings);
}

template <class Model>
void price_wings(const Model& model, double tau, SliceScratch& s, double* calls, double* puts,
                 const CarrMadanSettings& settings) {
  otm_wings(model, tau, s, calls, puts, settings);
}

// Jump-size standard deviation from which Bates is priced in two parts (below that the jump part's
// transform decays no faster than the no-jump part's and the split would only double the work).
constexpr double kSplitJumpWidth = 0.05;

// Bates with jumps wide enough to matter is priced as its no-jump part plus its jump part
// (characteristic_function.hpp), each to half the tolerance: the no-jump part needs the long u range
// and the jump part the long strike period, never both on one grid.
void price_wings(const BatesModel& model, double tau, SliceScratch& s, double* calls, double* puts,
               const CarrMadanSettings& settings) {
  if (!(model.lam * tau > 0.0 && model.alpha >= kSplitJumpWidth)) {
    otm_wings(model, tau, s, calls, puts, settings);
    return;
  }
  CarrMadanSettings half = settings;
  half.tolerance *= 0.5;
  s.part_call.resize(s.k_call.size());
  s.part_put.resize(s.k_put.size());
  otm_wings(BatesNoJumpPart{model}, tau, s, calls, puts, half);
  otm_wings(BatesJumpPart{model}, tau, s, s.part_call.data(), s.part_put.data(), half);
  for (std::size_t j = 0; j < s.k_call.size(); ++j) calls[j] += s.part_call[j];
  for (std::size_t j = 0; j < s.k_put.size(); ++j) puts[j] += s.part_put[j];
}

template <class Model>
void price_slice(const Model& model, double tau, const SurfaceGrid& g, OptionSide side, double* row,
                 SliceScratch& s, const CarrMadanSettings& settings) {
  const double fwd = g.spot * std::exp((g.rate - g.dividend) * tau);
  const double disc = std::exp(-g.rate * tau);
  s.k_call.clear(), s.k_put.clear(), s.idx_call.clear(), s.idx_put.clear();
  for (std::size_t i = 0; i < g.n_strikes; ++i) {
    const double strike = g.strikes[i];
    row[i] = NAN;
    if (!(strike > 0.0) || !std::isfinite(strike)) continue;
    const double k = std::log(strike / fwd);
    if (k >= 0.0) {
      s.k_call.push_back(k), s.idx_call.push_back(i);
    } else {
      s.k_put.push_back(-k), s.idx_put.push_back(i);  // a put at k is e^k times a call at -k under x*
    }
  }
  s.c_call.resize(s.k_call.size());
  s.c_put.resize(s.k_put.size());
  price_wings(model, tau, s, s.c_call.data(), s.c_put.data(), settings);
  // Normalised prices (units of the discounted forward); parity c - p = 1 - e^k.
  for (std::size_t j = 0; j < s.k_call.size(); ++j) {
    const double c = s.c_call[j], k = s.k_call[j];
    row[s.idx_call[j]] = disc * fwd * (side == OptionSide::put ? c - 1.0 + std::exp(k) : c);
  }
  for (std::size_t j = 0; j < s.k_put.size(); ++j) {
    const double k = -s.k_put[j], p = std::exp(k) * s.c_put[j];
    row[s.idx_put[j]] = disc * fwd * (side == OptionSide::call ? p + 1.0 - std::exp(k) : p);
  }
}

template <class Model>
void price_one(const Model& model, double tau, const SurfaceGrid& g, OptionSide side, double* row, SliceScratch& s,
               const CarrMadanSettings& settings) {
  if (!model.valid() || !(tau > 0.0) || !std::isfinite(tau)) {
    for (std::size_t i = 0; i < g.n_strikes; ++i) row[i] = NAN;
    return;
  }
  price_slice(model, tau, g, side, row, s, settings);
}

void price_task(ModelKind kind, const double* p, double tau, const SurfaceGrid& g, OptionSide side, double* row,
                SliceScratch& s, const CarrMadanSettings& settings) {
  switch (kind) {
    case ModelKind::black_scholes:
      return price_one(BlackScholesModel{p[0]}, tau, g, side, row, s, settings);
    case ModelKind::heston:
      return price_one(HestonModel{p[0], p[1], p[2], p[3], p[4]}, tau, g, side, row, s, settings);
    case ModelKind::bates:
      return price_one(BatesModel{{p[0], p[1], p[2], p[3], p[4]}, p[5], p[6], p[7]}, tau, g, side, row, s,
                       settings);
  }
}

}  // namespace

void price_surfaces(ModelKind kind, const double* params, std::size_t n_sets, std::size_t param_stride,
                    const SurfaceGrid& grid, OptionSide side, double* out, int threads,
                    const CarrMadanSettings& settings) {
  const std::size_t tasks = n_sets * grid.n_taus;
  const bool market_ok = grid.spot > 0.0 && std::isfinite(grid.spot) && std::isfinite(grid.rate) &&
                         std::isfinite(grid.dividend);
  // One task is a whole maturity slice (hundreds of characteristic-function evaluations).
  const int n_threads = parallel::resolve_threads(threads, tasks, 1);
#pragma omp parallel num_threads(n_threads)
  {
    SliceScratch scratch;
#pragma omp for schedule(dynamic)
    for (std::ptrdiff_t t = 0; t < static_cast<std::ptrdiff_t>(tasks); ++t) {
      const std::size_t set = static_cast<std::size_t>(t) / grid.n_taus, m = static_cast<std::size_t>(t) % grid.n_taus;
      double* row = out + static_cast<std::size_t>(t) * grid.n_strikes;
      if (!market_ok) {
        for (std::size_t i = 0; i < grid.n_strikes; ++i) row[i] = NAN;
        continue;
      }
      price_task(kind, params + set * param_stride, grid.taus[m], grid, side, row, scratch, settings);
    }
  }
}

}  // namespace ivfast::fourier
