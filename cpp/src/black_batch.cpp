// Run-time choice between the kernel copies compiled for different instruction sets.
#include "ivfast/black_batch.hpp"

#include <atomic>

#include "ivfast/black_kernels.hpp"  // declares the portable copy

#ifdef IVFAST_HAVE_X86_64_V3
IVFAST_DECLARE_BLACK_KERNELS(x86_64_v3)
#endif

namespace ivfast::black_batch {

namespace {

enum class Isa { kPortable, kX86_64_V3 };

bool cpu_has_x86_64_v3() {
#ifdef IVFAST_HAVE_X86_64_V3
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
         __builtin_cpu_supports("bmi2");
#else
  return false;
#endif
}

Isa best_isa() { return cpu_has_x86_64_v3() ? Isa::kX86_64_V3 : Isa::kPortable; }

std::atomic<Isa>& active_isa() {
  static std::atomic<Isa> isa{best_isa()};
  return isa;
}

}  // namespace

void price(const BlackInputs& in, std::size_t n, double* out, int threads) {
#ifdef IVFAST_HAVE_X86_64_V3
  if (active_isa().load(std::memory_order_relaxed) == Isa::kX86_64_V3) return x86_64_v3::black_kernels::price(in, n, out, threads);
#endif
  portable::black_kernels::price(in, n, out, threads);
}

void vega(const BlackInputs& in, std::size_t n, double* out, int threads) {
#ifdef IVFAST_HAVE_X86_64_V3
  if (active_isa().load(std::memory_order_relaxed) == Isa::kX86_64_V3) return x86_64_v3::black_kernels::vega(in, n, out, threads);
#endif
  portable::black_kernels::vega(in, n, out, threads);
}

void implied_vol(const InversionInputs& in, std::size_t n, double* out, std::int8_t* status, int threads) {
#ifdef IVFAST_HAVE_X86_64_V3
  if (active_isa().load(std::memory_order_relaxed) == Isa::kX86_64_V3) {
    return x86_64_v3::black_kernels::implied_vol(in, n, out, status, threads);
  }
#endif
  portable::black_kernels::implied_vol(in, n, out, status, threads);
}

std::string select_isa(const std::string& request) {
  if (request == "auto") {
    active_isa() = best_isa();
  } else if (request == "portable") {
    active_isa() = Isa::kPortable;
  } else if (request == "x86_64_v3" && cpu_has_x86_64_v3()) {
    active_isa() = Isa::kX86_64_V3;
  } else if (request != "") {
    return "";
  }
  return active_isa() == Isa::kX86_64_V3 ? "x86_64_v3" : "portable";
}

}  // namespace ivfast::black_batch
