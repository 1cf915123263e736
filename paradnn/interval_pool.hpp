// Storage sharing for buffers with known lifetimes: each buffer is live over an interval of
// op indices, and buffers whose intervals do not overlap may share one slot. The runtime
// places activation gradients with it (platforms/cpu/backend/onednn_buffer_plan.cpp) and the memory estimate counts the
// same plan (Graph::memory), so the estimate follows what runs.
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

#include "paradnn/graph.hpp"

namespace paradnn {

// The op-index lifetime [t, hi] of every tensor t: hi is its last reader. `holder[i]` is
// the op whose buffer op i's output lives in (i itself, or its producer's for an op fused
// into it, which reads nothing of its own); a reshape is a view, so it extends its input's
// lifetime to its own readers. Consumers come later than producers, so one sweep from the
// end suffices. Output buffers (inference) and gradients (training) have the same intervals.
std::vector<std::pair<int, int>> lifetimes(const Graph& g, const std::vector<int>& holder);

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
