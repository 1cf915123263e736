// The backend-neutral graph IR: what every model generator emits and every backend runs.
//
// A Graph is a list of ops in topological order; each op produces one tensor and names
// its inputs by index. Layout conventions: images NCHW, flat features [N, C], sequences
// [T, N, C], token ids [T, N]. An op's cost (FLOPs, bytes, memory) is counted analytically
// from its shapes (cost.cpp), so the CSV, the memory check, the TPU model and the scaling
// model all read the same numbers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "paradnn/dtype.hpp"

namespace paradnn {

using Dims = std::vector<int64_t>;
int64_t elements(const Dims& d);

enum class Mode { train, infer };
enum class Optimizer { sgd, momentum, rmsprop };
std::string_view to_string(Mode m);
std::string_view to_string(Optimizer o);
Mode parse_mode(std::string_view s);
Optimizer parse_optimizer(std::string_view s);
int optimizer_state_per_param(Optimizer o);  // f32 values of state kept per weight

enum class OpKind {
  input,         // synthetic data batch, [N, F] or [N, C, H, W]
  token_input,   // token ids, [T, N]
  embedding,     // table [vocab, E] -> [T, N, E]
  dense,         // y = x W^T + b over the last dim ([T, N, K] or [N, K]) or flattened CHW
  conv,          // 2-D convolution; groups == C gives depthwise
  batch_norm,    // per-channel, batch statistics in training
  relu,
  tanh,
  gelu,
  max_pool,
  avg_pool,      // kernel == H == W gives global average pooling
  add,           // element-wise sum of all inputs (residual merge)
  concat,        // along channels (dim 1)
  rnn,           // `layers` stacked cells over the whole sequence, hidden == input size
  softmax_xent,  // softmax + cross-entropy, mean over rows: the loss
  // Ops of the fixed real-world models (models/real/).
  layer_norm,      // over the last dim, with gamma and beta
  batched_matmul,  // [B, M, K] x [B, K, N] (or [B, N, K] with transpose_b) -> [B, M, N]
  softmax,         // over the last dim; `causal` masks future positions (attention)
  upsample,        // nearest neighbour, factor `kernel` in H and W
  reshape,         // a view with new dims (same elements, no data movement)
  transpose,       // permutes dims (`perm`), moves data
  focal_loss,      // sigmoid focal loss over [N, anchors, classes], mean over anchors: a loss
};
std::string_view to_string(OpKind k);

enum class Activation { none, relu, tanh, gelu };  // fused post-op
enum class RnnCell { rnn, lstm, gru };
std::string_view to_string(RnnCell c);
RnnCell parse_cell(std::string_view s);
int gates(RnnCell c);  // 1, 4, 3

struct Param {
  std::string name;  // e.g. "fc2.weight"
  Dims dims;
};

// Quantization attributes of an op computing in int8/int16 (per-output-channel weight scales).
struct Quant {
  float input_scale = 1.0f;
  float output_scale = 1.0f;
  std::vector<float> weight_scales;
};

struct OpCost {
  double fwd_flops = 0, bwd_data_flops = 0, bwd_weight_flops = 0, update_flops = 0;
  double fwd_bytes = 0, bwd_bytes = 0, update_bytes = 0;
  // Memory footprint, bytes.
  double weight_bytes = 0, grad_bytes = 0, optimizer_bytes = 0;
  double saved_activation_bytes = 0;  // kept from forward for backward (training)
  double output_bytes = 0;            // this op's output tensor
  double workspace_bytes = 0;         // pooling indices, RNN workspace, BN statistics

  double flops(Mode m) const { return m == Mode::infer ? fwd_flops : fwd_flops + bwd_data_flops + bwd_weight_flops + update_flops; }
  double bytes(Mode m) const { return m == Mode::infer ? fwd_bytes : fwd_bytes + bwd_bytes + update_bytes; }
};

struct Op {
  OpKind kind = OpKind::input;
  std::string name;
  std::vector<int> inputs;  // producer op indices
  Dims out;                 // output dims
  DType dtype = DType::f32; // compute precision of this op (per-op mixed precision)

  // Attributes; each kind reads only its own.
  int64_t kernel = 0, stride = 1, pad = 0, groups = 1;  // conv, pools
  bool bias = false;                                     // dense, conv
  Activation post = Activation::none;                    // fused activation (fusion pass)
  RnnCell cell = RnnCell::rnn;
  int64_t layers = 1;                                    // rnn
  int64_t classes = 0;                                   // softmax_xent, embedding vocab
  bool needs_input_grad = true;  // false where the input is data (first layer): no bwd-data
  bool transpose_b = false;      // batched_matmul
  bool causal = false;           // softmax
  std::vector<int> perm;         // transpose
  // Index of the op whose parameters this op uses (tied embeddings, detection heads shared
  // across levels); -1 if it owns its own. Shared parameters are counted, stored, updated
  // and all-reduced once; `params` still names their dims for cost counting.
  int shares_params_with = -1;
  Quant quant;

  std::vector<Param> params;
  OpCost cost;  // filled by Graph::finalize()
};

// One gradient buffer, in the order backward produces them (for all-reduce buckets).
struct GradientBuffer {
  std::string name;
  int op = 0;
  int64_t elements = 0;
};

struct StepTotals {
  double flops = 0, bytes = 0;
  double intensity() const { return bytes > 0 ? flops / bytes : 0; }
};

struct MemoryEstimate {
  double weights = 0, gradients = 0, optimizer = 0;
  // The activations, their gradients (training) and what ops keep for backward, in storage
  // shared by lifetime as the CPU runtime places it (paradnn/memory_plan.hpp).
  double activations = 0;
  double workspace = 0;  // the largest op's scratch space
  double total() const { return weights + gradients + optimizer + activations + workspace; }
};

struct Graph {
  std::string family;  // fc, cnn, rnn, real
  std::string name;    // e.g. fc_l4_n2048
  int64_t batch = 0;
  DType dtype = DType::f32;  // default compute type
  Optimizer optimizer = Optimizer::sgd;
  std::vector<Op> ops;

  int add(Op op);  // appends, returns the op's index
  const Op& op(int i) const { return ops.at(static_cast<size_t>(i)); }
  const Dims& dims_of(int i) const { return op(i).out; }

  void finalize();  // checks shapes and counts every op's cost; call after building
  int64_t param_count() const;
  std::vector<int> consumer_counts() const;  // per op: how many op inputs read its output
  // The first op in graph order using op `owner`'s parameters (owner, or an op tied to it):
  // the backward pass, running in reverse, completes their gradients there.
  int first_user(int owner) const;
  StepTotals totals(Mode m) const;
  MemoryEstimate memory(Mode m) const;
  std::vector<GradientBuffer> gradients_in_backward_order() const;
  int loss_op() const;  // index of the loss op (softmax_xent or focal_loss), -1 if none
};

}  // namespace paradnn
