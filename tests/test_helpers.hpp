// Small helpers several test files share.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "paradnn/graph.hpp"

// Skips the test with the backend's own reason where it cannot run here (no GPU, no driver).
#define SKIP_WITHOUT_GPU(backend)                                 \
  do {                                                            \
    if (auto why = (backend).unavailable()) GTEST_SKIP() << *why; \
  } while (0)

namespace paradnn {

// The largest element difference relative to the largest magnitude of the reference `b`.
inline double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double scale = 0, diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

// n integers drawn uniformly from [lo, hi] (seeded), stored as T.
template <typename T>
std::vector<T> random_ints(size_t n, int lo, int hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<T> v(n);
  for (T& x : v) x = T(d(rng));
  return v;
}

// The names of the parameters a graph owns (tied users excluded), in graph order.
inline std::vector<std::string> param_names(const Graph& g) {
  std::vector<std::string> names;
  for (const Op& op : g.ops)
    if (op.shares_params_with < 0)
      for (const Param& p : op.params) names.push_back(p.name);
  return names;
}

}  // namespace paradnn
