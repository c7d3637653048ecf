// Vectorised Black-76 and implied-volatility loops over flat arrays (the library's entry
// points for the bindings). Each call runs the copy of the kernels built for the best
// instruction set this CPU supports (see isa.hpp).
//
// Every input is a Strided view: stride 1 for an array of n elements, stride 0 for a scalar
// broadcast to all n. Prices are discounted (price = discount * undiscounted Black).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ivfast::black_batch {

template <class T>
struct Strided {
  const T* data;
  std::ptrdiff_t stride;
  T operator[](std::size_t i) const { return data[static_cast<std::ptrdiff_t>(i) * stride]; }
};

struct BlackInputs {
  Strided<double> forward, strike, tau, vol, discount;
  Strided<std::uint8_t> is_call;
};

struct InversionInputs {
  Strided<double> price, forward, strike, tau, discount;
  Strided<std::uint8_t> is_call;
};

void price(const BlackInputs& in, std::size_t n, double* out, int threads);
void vega(const BlackInputs& in, std::size_t n, double* out, int threads);
void implied_vol(const InversionInputs& in, std::size_t n, double* out, std::int8_t* status, int threads);

// Which kernel copy runs: "auto" (the default: the best this CPU supports), "portable" or
// "x86_64_v3" (AVX2+FMA; only where built and supported). Returns the name now in use, or
// an empty string if the request cannot be honoured (nothing changes then).
std::string select_isa(const std::string& request);

}  // namespace ivfast::black_batch
