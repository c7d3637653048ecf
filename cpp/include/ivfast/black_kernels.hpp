// The per-ISA loops behind black_batch.hpp; see isa.hpp for why they are namespaced.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ivfast/black_batch.hpp"
#include "ivfast/isa.hpp"

#define IVFAST_DECLARE_BLACK_KERNELS(isa)                                                                         \
  namespace ivfast::isa::black_kernels {                                                                          \
  void price(const ::ivfast::black_batch::BlackInputs& in, std::size_t n, double* out, int threads);             \
  void vega(const ::ivfast::black_batch::BlackInputs& in, std::size_t n, double* out, int threads);              \
  void implied_vol(const ::ivfast::black_batch::InversionInputs& in, std::size_t n, double* out,                 \
                   std::int8_t* status, int threads);                                                            \
  }

IVFAST_DECLARE_BLACK_KERNELS(IVFAST_ISA)
