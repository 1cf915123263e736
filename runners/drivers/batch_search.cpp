#include "runners/drivers/batch_search.hpp"

namespace paradnn {

int64_t largest_batch(const std::function<double(int64_t)>& estimate, double budget_bytes, int64_t limit) {
  if (estimate(1) > budget_bytes) return 0;
  int64_t good = 1, bad = 0;
  while (good < limit) {  // doubling until the estimate no longer fits
    const int64_t next = std::min(good * 2, limit);
    if (estimate(next) > budget_bytes) {
      bad = next;
      break;
    }
    good = next;
  }
  if (bad == 0) return good;
  while (bad - good > 1) {  // bisection between the last fit and the first miss
    const int64_t mid = good + (bad - good) / 2;
    (estimate(mid) <= budget_bytes ? good : bad) = mid;
  }
  return good;
}

}  // namespace paradnn
