#include "paradnn/interval_pool.hpp"

#include <algorithm>

namespace paradnn {

int IntervalPool::place(size_t bytes, int lo, int hi) {
  int best = -1;
  for (size_t k = 0; k < slots_.size(); ++k) {
    const Slot& s = slots_[k];
    if (s.bytes < bytes) continue;
    const bool free = std::none_of(s.uses.begin(), s.uses.end(), [&](const auto& u) { return u.first <= hi && lo <= u.second; });
    if (free && (best < 0 || s.bytes < slots_[static_cast<size_t>(best)].bytes)) best = static_cast<int>(k);
  }
  if (best < 0) {
    slots_.push_back({bytes, {}});
    best = static_cast<int>(slots_.size()) - 1;
  }
  slots_[static_cast<size_t>(best)].uses.push_back({lo, hi});
  return best;
}

std::vector<std::pair<int, int>> lifetimes(const Graph& g, const std::vector<int>& holder) {
  const int n = static_cast<int>(g.ops.size());
  std::vector<std::pair<int, int>> live(static_cast<size_t>(n));
  for (int i = n - 1; i >= 0; --i) {
    auto& own = live[static_cast<size_t>(i)];
    own = {i, std::max(i, own.second)};
    if (holder[static_cast<size_t>(i)] != i) continue;  // fused: its reads are its holder's
    const int reach = g.op(i).kind == OpKind::reshape ? own.second : i;
    for (int x : g.op(i).inputs) {
      int& hi = live[static_cast<size_t>(holder[static_cast<size_t>(x)])].second;
      hi = std::max(hi, reach);
    }
  }
  return live;
}

double IntervalPool::total_bytes() const {
  double t = 0;
  for (const Slot& s : slots_) t += static_cast<double>(s.bytes);
  return t;
}

}  // namespace paradnn
