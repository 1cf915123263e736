// Storage shared by lifetimes: activation gradients in training, op outputs in inference.
// Tensor t is used by ops t..hi, its last consumer (a reshape, a view, extends hi to its own
// consumers'), and buffers whose intervals do not overlap share one slot of an IntervalPool.
#pragma once
#include <utility>
#include <vector>

#include "paradnn/interval_pool.hpp"
#include "platforms/cpu/backend/onednn_descriptors.hpp"
#include "platforms/cpu/backend/onednn_fusion.hpp"

namespace paradnn::cpu {

// Shared storage is what a benchmark runs; one buffer per tensor keeps every one readable
// after the step (tests, calibration, fidelity).
enum class Buffers { shared, one_per_tensor };

class BufferPlan {
 public:
  BufferPlan(const Graph& g, const FusionPlan& fusion, Mode m, Buffers policy, const dnnl::engine& e);

  // Op t's output buffer. Shared in inference, except for an output nothing reads inside
  // the step (the loss), which keeps its own for read-back.
  memory output(int t, const memory::desc& md);
  // The gradient of tensor t (its holder, FusionPlan::canonical). Shared in training only
  // where `written_first` (every step writes it before reading it); one that nothing writes
  // stays a buffer of its own.
  memory gradient(int t, const memory::desc& md, bool written_first);
  // Whether tensor t's shared buffer (its gradient in training, its output in inference)
  // still holds the last step's values after the step, i.e. no tensor that runs later
  // reused it.
  bool intact(int t) const;
  const IntervalPool& pool() const { return pool_; }

 private:
  memory pooled(int t, const memory::desc& md);

  bool training_;
  bool share_;
  dnnl::engine engine_;
  std::vector<int> holder_;                // tensor -> the op whose buffer holds it
  std::vector<std::pair<int, int>> live_;  // tensor t -> {t, hi}
  IntervalPool pool_;
  std::vector<memory> slots_;  // one byte buffer per pool slot
  std::vector<int> slot_of_;   // tensor -> slot, -1 for a buffer of its own
};

}  // namespace paradnn::cpu
