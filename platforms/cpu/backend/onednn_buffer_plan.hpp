// Storage shared by lifetime (paradnn/memory_plan.hpp): op outputs, activation gradients and
// what ops keep between their forward and backward calls (workspaces, converted inputs,
// temporaries) get offsets in one arena laid out over the step's timeline
// (paradnn/arena_plan.hpp), so an activation freed in backward holds a gradient, and a
// tensor only an add reads dies in the forward pass. The memory estimate (Graph::memory)
// lays out the same tensors by the same intervals.
//
// The arena is laid out from every buffer the lowering asks for, so a Net is lowered twice
// (Net's constructor): first with a plan that records the requests and hands out no storage
// (nothing runs), then with their layout, handing out each request's offset in order.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "paradnn/arena_plan.hpp"
#include "paradnn/memory_plan.hpp"
#include "platforms/cpu/backend/onednn_call_list.hpp"
#include "platforms/cpu/backend/onednn_descriptors.hpp"
#include "platforms/cpu/backend/onednn_fusion.hpp"

namespace paradnn::cpu {

// Shared storage is what a benchmark runs; one buffer per tensor keeps every one readable
// after the step (tests, calibration, fidelity).
enum class Buffers { shared, one_per_tensor };

// Which of op i's calls use a buffer of its own (not its output or a gradient).
enum class Span {
  forward,      // its forward calls only (a masked copy of the input)
  to_backward,  // written forward, read by its backward (a workspace, an input converted to its layout)
  backward,     // its backward calls only (a gradient converted to its layout, a temporary)
};

class BufferPlan {
 public:
  // Shared buffers: with `layout`, at its offsets; without, recorded only (no storage).
  BufferPlan(const Graph& g, const FusionPlan& fusion, Mode m, Buffers policy, const dnnl::engine& e,
             std::optional<ArenaLayout> layout);

  // Op t's output buffer, live from its forward to its last reader (forward or backward).
  // An output nothing reads inside the step (the loss) keeps its own, for read-back.
  memory output(int t, const memory::desc& md);
  // The gradient of tensor t (its holder, FusionPlan::canonical), live from its first writer
  // to t's own backward. Shared only where `written_first` (every step writes it before
  // reading it); one that nothing writes stays a buffer of its own.
  memory gradient(int t, const memory::desc& md, bool written_first);
  // A buffer op i's calls use over `span`.
  memory scratch(int i, Span span, const memory::desc& md);

  // Whether tensor t's output (or gradient) still holds the last step's values after the
  // step, i.e. no buffer laid out later reused its storage.
  bool output_intact(int t) const { return intact(output_request_, t); }
  bool gradient_intact(int t) const { return intact(gradient_request_, t); }
  // Calls that use shared storage outside the lifetime planned for it: a buffer the plan lets
  // another reuse while a call still reads it (a backward read missing from
  // backward_reads_inputs, say). A buffer handed out is checked against its own interval, a
  // view of one (another handle on its storage) against the intervals of every buffer that
  // starts there. Empty where the plan holds; Net::finalize throws otherwise.
  std::vector<std::string> misuses(const CallList& calls) const;
  // Every shared buffer asked for so far, in order; laid out once all are known.
  const std::vector<BufferRequest>& requests() const { return requests_; }
  const ArenaLayout* layout() const { return layout_ ? &*layout_ : nullptr; }
  double arena_bytes() const { return layout_ ? static_cast<double>(layout_->bytes) : 0; }
  const StepTimeline& timeline() const { return time_; }

 private:
  memory pooled(Interval live, const memory::desc& md, int* request);
  bool intact(const std::vector<int>& request_of, int t) const;

  bool share_;
  dnnl::engine engine_;
  StepTimeline time_;
  std::vector<int> holder_;  // tensor -> the op whose buffer holds it
  TensorLifetimes life_;
  std::optional<ArenaLayout> layout_;
  memory arena_;
  std::vector<BufferRequest> requests_;
  std::vector<int> output_request_, gradient_request_;  // tensor -> request, -1 for a buffer of its own
  std::map<const void*, std::pair<memory, Interval>> handed_out_;  // each shared buffer, by its oneDNN handle
};

}  // namespace paradnn::cpu
