// What the op factories (onednn_ops.hpp) lower each op with, in graph order: the layouts,
// outputs and gradients of the tensors lowered so far, the fusion decisions, and the calls
// they append to the step.
//
// Layouts: primitives are created with format_tag::any and each tensor stays in the layout
// its producer chose; where a consumer wants another layout, a reorder call of its own
// (Phase::reorder) converts it, so its cost shows in --per-op rows. Synthetic inputs are
// created directly in the layout their first consumer wants.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "paradnn/graph.hpp"
#include "platforms/cpu/backend/onednn_buffer_plan.hpp"
#include "platforms/cpu/backend/onednn_call_list.hpp"
#include "platforms/cpu/backend/onednn_fusion.hpp"
#include "platforms/cpu/backend/onednn_params.hpp"

namespace paradnn::cpu {

// Where a gradient for one input of an op goes: straight into the input's gradient when
// this op writes it first and in its layout, else into `mem` and then reordered (and
// summed, for fan-out) into the input's gradient.
struct Sink {
  memory mem;
  int slot = 0;
  bool direct = true;
};

class Lowering {
 public:
  // Everything it builds into is the Net's (onednn_net.hpp), which outlives it.
  Lowering(const Graph& g, Mode m, const dnnl::engine& e, dnnl::stream& s, ParamStore& params, const FusionPlan& fusion,
           BufferPlan& buffers, CallList& calls, double& loss, std::vector<int32_t>& labels);
  Lowering(const Lowering&) = delete;  // a copy would lower into state of its own
  Lowering& operator=(const Lowering&) = delete;

  const Graph& graph() const { return graph_; }
  bool training() const { return training_; }
  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }
  ParamStore& params() { return params_; }
  const FusionPlan& fusion() const { return fusion_; }
  // The loss op's state: its kernels read the labels and write the mean loss.
  std::vector<int32_t>& labels() { return labels_; }
  double& loss() { return loss_; }

  // --- tensors ---
  // The current layout of op i's input `slot`; a data input not yet created reports its
  // plain layout at `type`.
  memory::desc input_desc(int i, int slot, Dt type) const;
  // Input `slot` of op i in layout `want`: the tensor itself, or a reorder into a buffer.
  memory input(int i, int slot, const memory::desc& want);
  void set_output(int i, const memory& y);
  // A new output buffer for op i, set as its output (storage shared by lifetime, BufferPlan).
  memory new_output(int i, const memory::desc& md);
  // A buffer of op i's own that its calls use over `span` (storage shared by lifetime).
  memory scratch(int i, Span span, const memory::desc& md) { return buffers_.scratch(i, span, md); }
  memory output(int tensor) const { return y_.at(static_cast<size_t>(tensor)); }
  // Op i's output is integer data that dequantizes as q * scale (an int8 op handing u8 to the
  // next); 1 for real-valued outputs. Read-back (InferenceModel::tensor) applies it.
  void set_output_scale(int i, float scale) { out_scale_[static_cast<size_t>(i)] = scale; }
  float output_scale(int tensor) const { return out_scale_[static_cast<size_t>(fusion_.canonical(tensor))]; }
  // `src` in layout `want`: `src` itself, or a buffer a reorder call of its own fills in the
  // forward or backward pass (named `what`, so --per-op shows its cost). A forward conversion
  // lives until op i's backward, which may read it too.
  memory in_layout(int i, bool backward, const std::string& what, const memory& src, const memory::desc& want);
  // Quantized copies of tensor t made for one consumer, for the next one that wants the same
  // scale and layout: an empty memory where there is none yet.
  memory quantized(int t, float scale, const memory::desc& want) const;
  void keep_quantized(int t, float scale, const memory& q) { quantized_[{t, scale}].push_back(q); }

  // --- gradients (training) ---
  bool needs_grad(int tensor) const { return needs_grad_[static_cast<size_t>(tensor)]; }
  bool needs_input_grad(int i, int slot) const;
  // Whether some op's backward writes tensor t's gradient (else it stays zero).
  bool grad_written(int t) const { return !writers_[static_cast<size_t>(fusion_.canonical(t))].empty(); }
  // Gradient of op i's output (allocated in the output's layout on first use; storage
  // shared with gradients whose lifetimes do not overlap, see BufferPlan).
  memory grad(int i);
  // The output gradient in layout `want` (reordered in the backward pass if needed; one
  // reorder per layout, however many of the op's primitives ask for it).
  memory grad_as(int i, const memory::desc& want);
  // Makes `g` the gradient of op i's output, for ops whose output is a view of their input
  // (reshape): their output gradient is then a view of the input's. False, and nothing
  // changes, if that gradient was already allocated.
  bool alias_grad(int i, const memory& g);
  Sink sink(int i, int slot, const memory::desc& md);
  void close(int i, const Sink& s);  // after the call that wrote s.mem

  // --- calls ---
  // A primitive call (impl taken from its descriptor) or a kernel of op i: Phase::fwd runs
  // in the forward pass, Phase::bwd and Phase::comm in the backward pass.
  void add(int i, Phase phase, const dnnl::primitive& p, const dnnl::primitive_desc_base& pd,
           std::unordered_map<int, memory> args);
  // A kernel lists the buffers it reads and writes in `uses` (their lifetimes are checked).
  void add_kernel(int i, Phase phase, const std::string& impl, std::function<void()> k, std::vector<memory> uses = {});
  // A reorder (layout or type conversion) as its own call in the forward or backward pass;
  // `accumulate` adds into dst instead of overwriting it.
  void add_reorder(int i, bool backward, const std::string& what, const memory& src, const memory& dst,
                   bool accumulate = false);
  // A forward reorder that also converts values as `attr` says (output scales for dense and
  // conv int8, RNN data scale and shift): int8 quantize calls, named "<what>:quantize".
  void add_quantize(int i, const std::string& what, const memory& src, const memory& dst, const dnnl::primitive_attr& attr);

 private:
  void append(Call c, bool backward);
  // A reorder call named `name` (add_reorder, add_quantize) with the traffic it counts.
  void add_reorder_call(int i, bool backward, const std::string& name, const memory& src, const memory& dst,
                        const dnnl::primitive_attr& attr, double bytes);
  bool data_op(int tensor) const;

  const Graph& graph_;
  bool training_;
  dnnl::engine engine_;
  dnnl::stream& stream_;
  ParamStore& params_;
  const FusionPlan& fusion_;
  BufferPlan& buffers_;
  CallList& calls_;
  double& loss_;
  std::vector<int32_t>& labels_;
  std::vector<bool> needs_grad_;
  std::vector<std::vector<std::pair<int, int>>> writers_;  // tensor -> (op, slot) in backward order
  std::vector<float> out_scale_;                           // see set_output_scale
  std::vector<memory> y_, dy_;
  std::vector<std::vector<memory>> dy_converted_;                   // grad_as's conversions, per op
  std::map<std::pair<int, float>, std::vector<memory>> quantized_;  // see quantized()
};

}  // namespace paradnn::cpu
