// A graph lowered to oneDNN: every op's forward, backward and update work as a flat list
// of calls built once, outside the timed region, and replayed by step().
//
// The Net owns what its parts share and composes them: the FusionPlan (which ops run
// inside another's call), the BufferPlan (storage shared by lifetimes), the CallList (the
// step's calls) and the Lowering the op factories build with (onednn_ops.hpp).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "paradnn/graph.hpp"
#include "platforms/cpu/backend/onednn_buffer_plan.hpp"
#include "platforms/cpu/backend/onednn_call_list.hpp"
#include "platforms/cpu/backend/onednn_fusion.hpp"
#include "platforms/cpu/backend/onednn_lowering.hpp"
#include "platforms/cpu/backend/onednn_params.hpp"

namespace paradnn::cpu {

class Net {
 public:
  // `fuse` = false keeps every activation a primitive of its own (to check fusion changes nothing).
  // Shared buffers: the graph is lowered once to learn every buffer it needs, which are laid
  // out in one arena, and lowered again into it (BufferPlan).
  Net(const Graph& g, Mode m, bool fuse = true, Buffers buffers = Buffers::shared);
  Net(const Net&) = delete;  // its parts and calls hold pointers into it
  Net& operator=(const Net&) = delete;

  // Its parts: what op factories build with, the step's calls, the shared storage.
  Lowering& lowering() { return lowering_; }
  CallList& calls() { return calls_; }
  const CallList& calls() const { return calls_; }
  const BufferPlan& buffer_plan() const { return buffers_; }
  // After build_op of every op: appends the parameter updates (training), then builds the
  // calls' arguments and scratchpad.
  void finalize();

  // What callers that feed, run and read the net need (CpuExecutable, InferenceModel).
  const Graph& graph() const { return graph_; }
  bool training() const { return mode_ == Mode::train; }
  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }
  ParamStore& params() { return params_; }
  memory output(int tensor) const { return lowering_.output(tensor); }
  float output_scale(int tensor) const { return lowering_.output_scale(tensor); }
  void forward() { calls_.forward(); }
  void backward() { calls_.backward(); }
  void update() { calls_.update(); }

  // The loss op's state: its last mean loss and its class labels (its kernels hold
  // pointers to them: overwrite the labels in place).
  double loss = 0;
  std::vector<int32_t> labels;

 private:
  Net(const Graph& g, Mode m, bool fuse, Buffers buffers, std::optional<ArenaLayout> layout);
  // Lowers `g` into a Net whose shared buffers have no storage and lays out what it asked for.
  static ArenaLayout arena_for(const Graph& g, Mode m, bool fuse);

  Graph graph_;
  Mode mode_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  ParamStore params_;
  FusionPlan fusion_;
  BufferPlan buffers_;
  CallList calls_;
  Lowering lowering_;
};

// Lowers op i into the net (onednn_ops.hpp's build_op on its Lowering).
void build_op(Net& net, int i);

}  // namespace paradnn::cpu
