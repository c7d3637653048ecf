// Process-wide cache of FFTW complex-to-real plans, one per transform size.
//
// FFTW's planner is not thread-safe, so plan creation is serialised by a mutex; executing a plan
// through the new-array interface (fftw_execute_dft_c2r) is thread-safe, so many threads share a
// plan, each on its own fftw_malloc'ed buffers (same alignment as the planning buffers).
#pragma once

#include <fftw3.h>

#include <cstddef>

namespace ivfast::fourier {

// Plan for an out-of-place c2r transform of real length n (n/2 + 1 complex inputs). Never null;
// the plan lives until process exit.
fftw_plan c2r_plan(int n);

// Owning fftw_malloc buffer, grown on demand (contents are not preserved on growth).
template <class T>
class FftwBuffer {
 public:
  FftwBuffer() = default;
  FftwBuffer(const FftwBuffer&) = delete;
  FftwBuffer& operator=(const FftwBuffer&) = delete;
  ~FftwBuffer() { fftw_free(data_); }

  T* reserve(std::size_t n) {
    if (n > size_) {
      fftw_free(data_);
      data_ = static_cast<T*>(fftw_malloc(n * sizeof(T)));
      size_ = data_ ? n : 0;
    }
    return data_;
  }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ivfast::fourier
