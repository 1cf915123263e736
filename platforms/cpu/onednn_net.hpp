// A graph lowered to oneDNN: every op's forward, backward and update work as a flat list
// of calls built once, outside the timed region, and replayed by step().
//
// Layouts: primitives are created with format_tag::any and each tensor stays in the layout
// its producer chose; where a consumer wants another layout, a reorder call of its own
// (phase "reorder") converts it, so its cost shows in --per-op rows. Synthetic inputs are
// created directly in the layout their first consumer wants. Every primitive uses one
// user-provided scratchpad, and calls go through the C API with prebuilt argument arrays,
// so a step allocates nothing.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "paradnn/graph.hpp"
#include "paradnn/interval_pool.hpp"
#include "platforms/cpu/onednn_params.hpp"

namespace paradnn::cpu {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

Dt to_dnnl(DType t);
Tag plain_tag(size_t rank);  // a, ab, abc, abcd, abcde
memory::desc plain_desc(const Dims& dims, Dt type);
// Attributes every primitive here is created with: user scratchpad, plus a post-op.
dnnl::primitive_attr make_attr(Activation post = Activation::none);
dnnl::algorithm eltwise_algorithm(Activation a, bool use_dst_for_bwd);

// One unit of work in a step: a oneDNN primitive with its arguments, or a hand-written
// kernel where oneDNN has no primitive (embedding, loss, optimizer update).
struct Call {
  int op = -1;
  std::string phase;  // fwd, bwd, update, reorder
  std::string name;   // op name, or "<op>.<what>:reorder"
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  memory::desc scratchpad;
  std::function<void()> kernel;
  std::string impl;
  double bytes = 0;  // traffic of a reorder (graph ops take theirs from the cost model)
  std::vector<dnnl_exec_arg_t> c_args;  // built by Net::finalize()
};

// Where a gradient for one input of an op goes: straight into the input's gradient when
// this op writes it first and in its layout, else into `mem` and then reordered (and
// summed, for fan-out) into the input's gradient.
// Activation gradients (training) and op outputs (inference): storage shared by lifetimes
// (what a benchmark runs), or one buffer per tensor so that every one can be read after the
// step (tests, calibration, fidelity).
enum class Buffers { shared, one_per_tensor };

struct Sink {
  memory mem;
  int slot = 0;
  bool direct = true;
};

class Net {
 public:
  // `fuse` = false keeps every activation a primitive of its own (to check fusion changes nothing).
  Net(const Graph& g, Mode m, bool fuse = true, Buffers buffers = Buffers::shared);
  Net(const Net&) = delete;  // calls hold pointers into it
  Net& operator=(const Net&) = delete;

  const Graph& graph() const { return graph_; }
  Mode mode() const { return mode_; }
  bool training() const { return mode_ == Mode::train; }
  const dnnl::engine& engine() const { return engine_; }
  dnnl::stream& stream() { return stream_; }
  ParamStore& params() { return params_; }
  const ParamStore& params() const { return params_; }

  // Activation fused into op i's forward (a ReLU that follows it), and whether op i is a
  // ReLU that was fused away (its output and gradient alias its producer's).
  Activation fused_post(int i) const { return post_[static_cast<size_t>(i)]; }
  // The batch norm folded into int8 conv op i (inference), or -1.
  int folded_norm(int i) const { return folded_norm_[static_cast<size_t>(i)]; }
  int canonical(int tensor) const;  // the op whose buffer holds `tensor` (fused ops share it)
  bool fused_away(int i) const { return fused_away_[static_cast<size_t>(i)]; }
  bool needs_grad(int tensor) const { return needs_grad_[static_cast<size_t>(tensor)]; }

  // --- building, called by the op factories for op `i` in graph order ---
  // The current layout of op i's input `slot`; a data input not yet created reports its
  // plain layout at `type`.
  memory::desc input_desc(int i, int slot, Dt type) const;
  // Input `slot` of op i in layout `want`: the tensor itself, or a reorder into a buffer.
  memory input(int i, int slot, const memory::desc& want);
  void set_output(int i, const memory& y);
  // A new output buffer for op i, set as its output (storage shared by lifetime in inference).
  memory new_output(int i, const memory::desc& md);
  // Op i's output is integer data that dequantizes as q * scale (an int8 op handing u8 to the
  // next); 1 for real-valued outputs. Read-back (InferenceModel::tensor) applies it.
  void set_output_scale(int i, float scale) { out_scale_[static_cast<size_t>(i)] = scale; }
  float output_scale(int tensor) const { return out_scale_[static_cast<size_t>(canonical(tensor))]; }
  memory output(int tensor) const { return y_.at(static_cast<size_t>(tensor)); }
  // Gradient of op i's output (allocated in the output's layout on first use; storage
  // shared with gradients whose lifetimes do not overlap, see live_).
  memory grad(int i);
  // Whether tensor t's shared buffer (its gradient in training, its output in inference)
  // still holds the last step's values after the step, i.e. no tensor that runs later
  // reused it.
  bool intact(int t) const;
  const IntervalPool& buffer_pool() const { return pool_; }  // the shared storage
  // The output gradient in layout `want` (reordered in the backward phase if needed; one
  // reorder per layout, however many of the op's primitives ask for it).
  memory grad_as(int i, const memory::desc& want);
  // `src` in layout `want`: `src` itself, or a buffer a reorder call of its own fills in the
  // forward or backward list (named `what`, so --per-op shows its cost).
  memory in_layout(int i, bool backward, const std::string& what, const memory& src, const memory::desc& want);
  bool needs_input_grad(int i, int slot) const;
  // Makes `g` the gradient of op i's output, for ops whose output is a view of their input
  // (reshape): their output gradient is then a view of the input's. False, and nothing
  // changes, if that gradient was already allocated.
  bool alias_grad(int i, const memory& g);
  Sink sink(int i, int slot, const memory::desc& md);
  void close(int i, const Sink& s);  // after the call that wrote s.mem

  // Appends a primitive call; impl taken from its primitive descriptor.
  void add(int i, const std::string& phase, const dnnl::primitive& p, const dnnl::primitive_desc_base& pd,
           std::unordered_map<int, memory> args);
  void add_kernel(int i, const std::string& phase, const std::string& impl, std::function<void()> k);
  // A reorder (layout or type conversion) as its own call in the forward or backward list;
  // `accumulate` adds into dst instead of overwriting it.
  void add_reorder(int i, bool backward, const std::string& what, const memory& src, const memory& dst,
                   bool accumulate = false);
  // A forward reorder that also converts values as `attr` says (output scales for dense and
  // conv int8, RNN data scale and shift): int8 quantize calls, named "<what>:quantize".
  void add_quantize(int i, const std::string& what, const memory& src, const memory& dst, const dnnl::primitive_attr& attr);
  // Quantized copies of tensor t made for one consumer, for the next one that wants the same
  // scale and layout: an empty memory where there is none yet.
  memory quantized(int t, float scale, const memory::desc& want) const;
  void keep_quantized(int t, float scale, const memory& q) { quantized_[{t, scale}].push_back(q); }

  void finalize();  // allocates the shared scratchpad, builds the C argument arrays

  // --- running ---
  void forward();
  void backward();
  void update();
  // Per-call seconds summed over `iterations` steps, in call order of one step.
  std::vector<std::pair<const Call*, double>> timed_calls(int iterations);
  std::vector<std::string> impls() const;
  // Arguments of each oneDNN execution in one step (the other calls are paradnn's own kernels).
  std::vector<int> primitive_arg_counts() const;

  // The loss op's state: its last mean loss and its class labels.
  double loss = 0;
  std::vector<int32_t> labels;

 private:
  void run(Call& c);
  // A reorder call named `name` (add_reorder, add_quantize) with the traffic it counts.
  void add_reorder_call(int i, bool backward, const std::string& name, const memory& src, const memory& dst,
                        const dnnl::primitive_attr& attr, double bytes);
  bool data_op(int tensor) const;
  std::vector<Call*> step_calls();

  Graph graph_;
  Mode mode_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  ParamStore params_;
  std::vector<Activation> post_;
  std::vector<bool> fused_away_, needs_grad_;
  std::vector<int> alias_of_;                     // fused ReLU or folded norm -> its producer
  std::vector<int> folded_norm_;                  // int8 conv -> its folded batch norm
  std::vector<float> out_scale_;                  // see set_output_scale
  std::vector<std::vector<std::pair<int, int>>> writers_;  // tensor -> (op, slot) in backward order
  std::vector<memory> y_, dy_;
  std::vector<std::vector<memory>> dy_converted_;  // grad_as's conversions, per op
  std::map<std::pair<int, float>, std::vector<memory>> quantized_;  // see quantized()
  // Tensor t's output (inference) and gradient (training) are used by ops t..hi, its last
  // consumer (a reshape, a view, extends hi to its own consumers'): `live_[t] = {t, hi}`.
  // Buffers whose intervals do not overlap share storage.
  memory pooled(int t, const memory::desc& md);
  std::vector<std::pair<int, int>> live_;
  IntervalPool pool_;
  std::vector<memory> slots_;   // one byte buffer per pool slot
  std::vector<int> slot_of_;    // tensor -> slot, -1 for a private buffer
  Buffers buffers_;
  std::vector<std::vector<Call>> fwd_, bwd_;
  std::vector<Call> update_;
  UpdateRule rule_;
  memory scratch_;
};

}  // namespace paradnn::cpu
