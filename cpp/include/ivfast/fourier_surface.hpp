// Option-price surfaces (maturities x strikes) for many model parameter sets, by Fourier inversion.
#pragma once

#include <cstddef>

#include "ivfast/carr_madan_settings.hpp"

namespace ivfast::fourier {

enum class ModelKind : int { black_scholes = 0, heston = 1, bates = 2 };

// Which price to return: puts, calls, or the out-of-the-money one (puts below the forward).
enum class OptionSide : int { put = 0, call = 1, out_of_the_money = 2 };

// Parameters per set, in order: black_scholes (vol); heston (v0, kappa, theta, sigma, rho);
// bates (v0, kappa, theta, sigma, rho, lam, beta, alpha).
int parameter_count(ModelKind kind);

struct SurfaceGrid {
  const double* strikes;
  std::size_t n_strikes;
  const double* taus;  // year fractions
  std::size_t n_taus;
  double spot, rate, dividend;  // continuously compounded rate and dividend yield
};

// Discounted prices of the given side, out[(set * n_taus + t) * n_strikes + i], for n_sets
// parameter rows of parameter_count(kind) values each (row stride `param_stride`). Each price is
// computed from the out-of-the-money wing (puts below the forward, calls above) and converted by
// parity, so small prices keep their relative accuracy. Invalid parameter rows, strikes or
// maturities give NaN; nothing throws except std::bad_alloc. Parallel over (set, maturity).
void price_surfaces(ModelKind kind, const double* params, std::size_t n_sets, std::size_t param_stride,
                    const SurfaceGrid& grid, OptionSide side, double* out, int threads,
                    const CarrMadanSettings& settings = {});

}  // namespace ivfast::fourier
