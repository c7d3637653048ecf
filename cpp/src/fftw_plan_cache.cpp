#include "fftw_plan_cache.hpp"

#include <map>
#include <mutex>
#include <new>

namespace ivfast::fourier {

fftw_plan c2r_plan(int n) {
  static std::mutex mutex;
  static std::map<int, fftw_plan> plans;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans.find(n);
  if (it != plans.end()) return it->second;
  // Planning needs (and, for FFTW_ESTIMATE, leaves untouched) buffers of the execution alignment.
  FftwBuffer<fftw_complex> in;
  FftwBuffer<double> out;
  fftw_complex* pin = in.reserve(static_cast<std::size_t>(n / 2 + 1));
  double* pout = out.reserve(static_cast<std::size_t>(n));
  if (pin == nullptr || pout == nullptr) throw std::bad_alloc();
  fftw_plan plan = fftw_plan_dft_c2r_1d(n, pin, pout, FFTW_ESTIMATE);
  if (plan == nullptr) throw std::bad_alloc();
  plans.emplace(n, plan);
  return plan;
}

}  // namespace ivfast::fourier
