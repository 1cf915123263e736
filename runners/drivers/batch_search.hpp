// The largest batch whose estimated memory fits a budget: doubling, then bisection.
// Guarded by the analytic estimate, so no trial allocation can wake the out-of-memory killer.
#pragma once
#include <cstdint>
#include <functional>

#include "paradnn/point.hpp"

namespace paradnn {

// `estimate(batch)` is the memory a point needs at that batch. Returns 0 when even batch 1
// does not fit. Searches up to `limit`.
int64_t largest_batch(const std::function<double(int64_t)>& estimate, double budget_bytes, int64_t limit = int64_t{1} << 20);

}  // namespace paradnn
