// Timing shared by the C++ benchmarks: the best of several runs, which is the least disturbed by
// other work on a shared machine.
#pragma once

#include <algorithm>
#include <chrono>

namespace ivfast_bench {

template <class F>
double best_seconds(F&& f, int repeats) {
  double best = 1e300;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace ivfast_bench
