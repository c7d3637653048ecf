// Kernel-only timing of the Carr–Madan/FFTW surface pricer (no Python): the seed's 18x18 Bates
// surfaces single-threaded at the default tolerance (1e-10, the accuracy target) and at
// 1e-13, and random Bates parameter sets in batch on 1 and all threads. CPU time (the machine may be
// shared); the load average is printed with each line.
//   bench_fourier [n_random=200]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "ivfast/fourier_surface.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fr = ivfast::fourier;

namespace {

const double kStrikes[18] = {0.3, 0.4, 0.6, 0.8, 0.9, 0.95, 0.975, 1, 1.025, 1.05, 1.1, 1.2, 1.3, 1.5, 1.75, 2, 2.5, 3.0};

struct Timing {
  double wall_ms, cpu_ms;
};

double load_average() {
  double load = NAN;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = NAN;
    std::fclose(f);
  }
  return load;
}

template <class F>
Timing time_it(F&& f) {
  const auto w0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  f();
  const std::clock_t c1 = std::clock();
  const auto w1 = std::chrono::steady_clock::now();
  return {std::chrono::duration<double, std::milli>(w1 - w0).count(), 1e3 * double(c1 - c0) / CLOCKS_PER_SEC};
}

}  // namespace

int main(int argc, char** argv) {
  const int n_random = argc > 1 ? std::atoi(argv[1]) : 200;
  std::vector<double> taus;
  for (int i : {3, 6, 12, 18, 26, 52, 78, 104, 130, 156, 182, 208, 234, 260, 286, 312, 468, 624}) taus.push_back(i * 2.0 / 624);
  const fr::SurfaceGrid grid{kStrikes, 18, taus.data(), taus.size(), 1.0, 0.0, 0.0};
  std::vector<double> out(18 * 18);

  const double seed_sets[2][8] = {{0.01, 0.5, 0.0625, 1.0, -0.75, 0.2, -0.03, 0.7},
                                  {0.02, 0.4, 0.05, 0.8, -0.65, 0.3, -0.04, 0.5}};
  const char* names[2] = {"reference", "subsequent"};
  for (int s = 0; s < 2; ++s) {
    for (double tol : {1e-10, 1e-13}) {
      fr::CarrMadanSettings settings;
      settings.tolerance = tol;
      auto run = [&] {
        fr::price_surfaces(fr::ModelKind::bates, seed_sets[s], 1, 8, grid, fr::OptionSide::call, out.data(), 1,
                           settings);
      };
      run();  // warm plans
      std::vector<double> cpu;
      for (int r = 0; r < 9; ++r) cpu.push_back(time_it(run).cpu_ms);
      std::sort(cpu.begin(), cpu.end());
      std::printf("%-10s set, tolerance %.0e: %.2f ms CPU per 18x18 surface (median of 9, 1 thread; load %.1f)\n",
                  names[s], tol, cpu[4], load_average());
    }
  }

  std::mt19937_64 rng(0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const double lo[8] = {0.005, 0.1, 0.01, 0.1, -0.95, 0.0, -0.3, 0.0}, hi[8] = {0.25, 5.0, 0.25, 1.5, 0.5, 1.0, 0.2, 0.8};
  std::vector<double> params(8 * static_cast<std::size_t>(n_random));
  for (std::size_t i = 0; i < params.size(); ++i) params[i] = lo[i % 8] + (hi[i % 8] - lo[i % 8]) * unif(rng);
  std::vector<double> batch(params.size() / 8 * 18 * 18);
  int all = 1;
#ifdef _OPENMP
  all = omp_get_max_threads();
#endif
  for (int threads : {1, all}) {
    const Timing t = time_it([&] {
      fr::price_surfaces(fr::ModelKind::bates, params.data(), n_random, 8, grid, fr::OptionSide::call, batch.data(),
                         threads);
    });
    std::size_t nan = 0;
    for (double v : batch) nan += std::isnan(v);
    std::printf("%d random sets, %d thread(s): %.1f surfaces/s wall (%.2f ms CPU per surface), NaN prices %zu (load %.1f)\n",
                n_random, threads, n_random / (t.wall_ms / 1e3), t.cpu_ms / n_random, nan, load_average());
  }
  return 0;
}
