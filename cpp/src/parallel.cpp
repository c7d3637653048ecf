#include "ivfast/parallel.hpp"

#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ivfast::parallel {

int resolve_threads(int requested, std::size_t work_items, std::size_t min_items_per_thread) {
#ifdef _OPENMP
  const int available = requested > 0 ? requested : omp_get_max_threads();
#else
  const int available = 1;
  (void)requested;
#endif
  const std::size_t useful = std::max<std::size_t>(1, work_items / std::max<std::size_t>(1, min_items_per_thread));
  return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(std::max(available, 1)), useful));
}

}  // namespace ivfast::parallel
