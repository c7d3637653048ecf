// Thread-count policy shared by all OpenMP kernels.
#pragma once

#include <cstddef>

namespace ivfast::parallel {

// Threads to use: `requested` when positive, else OpenMP's default (OMP_NUM_THREADS or all
// cores); 1 for batches too small to repay a parallel region.
int resolve_threads(int requested, std::size_t work_items, std::size_t min_items_per_thread = 2048);

}  // namespace ivfast::parallel
