// Accuracy and cost limits of the Carr–Madan engine (cpp/src/carr_madan.cpp), in a header of their
// own so that callers of price_surfaces need neither the engine nor FFTW.
#pragma once

#include <cstddef>

namespace ivfast::fourier {

struct CarrMadanSettings {
  double tolerance = 1e-10;  // absolute, in units of the forward (undiscounted)
  int stencil = 16;          // Lagrange interpolation points (even)
  double max_moment = 1000;  // cap on the moment order searched for the damping
  std::size_t max_points = std::size_t{1} << 21;  // cap on characteristic-function evaluations
};

}  // namespace ivfast::fourier
