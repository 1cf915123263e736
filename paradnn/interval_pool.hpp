// Storage sharing for buffers with known lifetimes: each buffer is live over an interval of
// op indices, and buffers whose intervals do not overlap may share one slot. The runtime
// places activation gradients with it (onednn_net.cpp) and the memory estimate counts the
// same plan (Graph::memory), so the estimate follows what runs.
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

namespace paradnn {

class IntervalPool {
 public:
  struct Slot {
    size_t bytes = 0;
    std::vector<std::pair<int, int>> uses;  // [lo, hi] of every buffer placed in it
  };
  // The slot for a buffer of `bytes` live over [lo, hi]: the smallest slot that is large
  // enough and free over the whole interval, else a new one. Placement never grows a slot
  // (storage handed out stays valid).
  int place(size_t bytes, int lo, int hi);
  const Slot& slot(int k) const { return slots_[static_cast<size_t>(k)]; }
  size_t slots() const { return slots_.size(); }
  double total_bytes() const;

 private:
  std::vector<Slot> slots_;
};

}  // namespace paradnn
