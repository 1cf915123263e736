// When each buffer of a step is live, on one timeline for the whole step: op i's forward
// runs at time i and, in training, its backward at 2n-1-i. An activation is live from its
// forward write to its last read, forward or backward (a conv's input until the conv's
// backward-weights; a tensor only an add reads dies in the forward pass), and a gradient from
// its first backward write to its own op's backward. Buffers whose intervals do not overlap
// share storage (paradnn/arena_plan.hpp): activations freed in backward hold the gradients.
//
// The CPU runtime places its buffers by these intervals (platforms/cpu/backend/onednn_buffer_plan.cpp)
// and the memory estimate places the same buffers (Graph::memory), so the estimate follows
// what runs.
#pragma once
#include <vector>

#include "paradnn/graph.hpp"

namespace paradnn {

struct Interval {
  int lo = 0, hi = 0;  // inclusive
  bool overlaps(const Interval& o) const { return lo <= o.hi && o.lo <= hi; }
};

class StepTimeline {
 public:
  StepTimeline(int ops, Mode m) : ops_(ops), training_(m == Mode::train) {}
  bool training() const { return training_; }
  int fwd(int op) const { return op; }
  int bwd(int op) const { return training_ ? 2 * ops_ - 1 - op : op; }
  int end() const { return training_ ? 2 * ops_ : ops_; }  // the update, after every op

 private:
  int ops_;
  bool training_;
};

// What the backward pass of an op of kind k reads of its forward tensors (besides weights):
// its inputs (a conv's backward-weights reads x) and its output (a ReLU's derivative is
// taken from y). Workspaces an op keeps for its backward are its own buffers.
bool backward_reads_inputs(OpKind k);
bool backward_reads_output(OpKind k);

struct TensorLifetimes {
  // Per tensor, indexed by the op whose buffer holds it (`holder`; a fused op's tensor is
  // its producer's and has no entries of its own): forward write to last read, and the
  // gradient's first backward write to its own op's backward.
  std::vector<Interval> output, gradient;
};
// Whether each tensor gets a gradient in training: it depends on parameters (its op has
// some, or one of its inputs needs a gradient); synthetic inputs never do.
std::vector<bool> tensors_needing_gradients(const Graph& g);

// `holder[i]`: the op whose buffer op i's output lives in (i itself, or its producer's for an
// op fused into it, which runs inside its producer's calls). A reshape is a view: it extends
// its input's lifetime to its own readers' instead of holding a buffer.
TensorLifetimes tensor_lifetimes(const Graph& g, Mode m, const std::vector<int>& holder);

}  // namespace paradnn
