// Carr–Madan (1999) Fourier pricing of out-of-the-money calls with FFTW; the method and its error
// budget are described in carr_madan.cpp.
#pragma once

#include <cstddef>
#include <vector>

#include "characteristic_function.hpp"
#include "fftw_plan_cache.hpp"
#include "ivfast/carr_madan_settings.hpp"

namespace ivfast::fourier {

// What the engine chose for one maturity and wing (for diagnostics and benchmarks).
struct CarrMadanGrid {
  double damping = 0, period = 0, u_max = 0;
  std::size_t points = 0, fft_size = 0;
};

struct CarrMadanWorkspace {
  std::vector<cd> psi;
  std::vector<double> ur, ui, lr, li;  // contour points to evaluate and their log_cf
  std::vector<std::size_t> index;
  FftwBuffer<fftw_complex> spectrum;
  FftwBuffer<double> values;
};

// Undiscounted out-of-the-money call prices c(k) = E[(e^x - e^k)^+] (units of the forward) at
// log-moneyness k[i] >= 0, for the law of x = ln(S_T/F) given by `model` at maturity tau.
// Instantiated in carr_madan.cpp for the models of characteristic_function.hpp and their
// ShareMeasure; another model needs its line there.
template <class Model>
CarrMadanGrid otm_call_prices(const Model& model, double tau, const double* k, std::size_t n, double* out,
                              CarrMadanWorkspace& ws, const CarrMadanSettings& s = {});

}  // namespace ivfast::fourier
