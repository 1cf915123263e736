// The oneDNN lowering of each graph op kind: one factory per file, each appending its
// forward, backward and parameter work through the Lowering (see onednn_lowering.hpp).
#pragma once
#include <optional>
#include <string>

#include "platforms/cpu/backend/onednn_lowering.hpp"

namespace paradnn::cpu {

void build_op(Lowering& ctx, int i);
// Why the CPU backend cannot run an op (a kind or attribute it does not implement), or nullopt.
std::optional<std::string> unsupported_reason(const Op& op);

void build_dense(Lowering& ctx, int i);
void build_conv(Lowering& ctx, int i);
void build_batch_norm(Lowering& ctx, int i);
// Batch norm op i's scale, shift and statistics, registered for read-back by name (f32 [C]).
struct NormParams {
  Weight *gamma = nullptr, *beta = nullptr, *mean = nullptr, *var = nullptr;
};
NormParams add_norm_params(Lowering& ctx, int i);
constexpr float kNormEpsilon = 1e-5f;
void build_eltwise(Lowering& ctx, int i);  // relu, tanh, gelu not fused into a producer
void build_pool(Lowering& ctx, int i);
void build_add(Lowering& ctx, int i);
void build_concat(Lowering& ctx, int i);
void build_embedding(Lowering& ctx, int i);
void build_rnn(Lowering& ctx, int i);
// Registers an rnn op's w_x, w_h (f32 in the IR's ldgoi order, computed with in `w_layer` /
// `w_iter`) and bias, with per-layer views for read-back (onednn_rnn.cpp).
struct RnnWeights {
  Weight *layer = nullptr, *iter = nullptr, *bias = nullptr;
};
RnnWeights add_rnn_weights(Lowering& ctx, int i, const memory::desc& w_layer, const memory::desc& w_iter);
void build_softmax_xent(Lowering& ctx, int i);
void build_reshape(Lowering& ctx, int i);         // onednn_layout.cpp
void build_transpose(Lowering& ctx, int i);       // onednn_layout.cpp
void build_upsample(Lowering& ctx, int i);        // onednn_layout.cpp
void build_batched_matmul(Lowering& ctx, int i);  // onednn_attention.cpp
void build_softmax(Lowering& ctx, int i);         // onednn_attention.cpp
void build_layer_norm(Lowering& ctx, int i);      // onednn_attention.cpp
void build_focal_loss(Lowering& ctx, int i);
void build_dense_int8(Lowering& ctx, int i);  // onednn_int8.cpp: ops whose dtype is int8 (inference)
void build_dense_dfp(Lowering& ctx, int i);   // onednn_dfp.cpp: ops whose dtype is int16_dfp
void build_conv_dfp(Lowering& ctx, int i);    // onednn_dfp.cpp
// Why op `op` of an int16_dfp graph cannot run in DFP, or nullopt.
std::optional<std::string> dfp_unsupported_reason(const Op& op);
void build_conv_int8(Lowering& ctx, int i);   // onednn_int8.cpp
void build_rnn_int8(Lowering& ctx, int i);    // onednn_rnn_int8.cpp: LSTM and GRU cells
// Throws where op i cannot run in int8 here: training, tied parameters, no calibrated scale.
void check_int8_op(const Lowering& ctx, int i);

// Backward of a fused ReLU post-op, in place on op i's output gradient (before the op's
// own backward reads it).
void add_post_backward(Lowering& ctx, int i, const memory& y, const memory& dy);
// The weight (and bias) of a dense or conv op, initialized He-uniform for `fan_in`, in the
// layout the forward primitive chose; adds them to the forward call's arguments.
// For an op that shares another's parameters (Op::shares_params_with) they are the
// owner's weights, and `compute` is them in this op's forward layout.
struct WeightAndBias {
  Weight* w = nullptr;
  Weight* b = nullptr;
  memory compute;  // what the forward computes with: w->w, or a per-step reorder of it
};
WeightAndBias add_weight_and_bias(Lowering& ctx, int i, const memory::dims& w_dims, const memory::desc& w_md, float fan_in,
                                  const memory::desc& b_md, std::unordered_map<int, memory>& args);
// Training state for them and the backward-weights call that writes their gradients.
void add_weight_gradients(Lowering& ctx, int i, WeightAndBias wb, const dnnl::primitive& p, const dnnl::primitive_desc& pd,
                          const memory& src, const memory& dy);

// Tied parameters (onednn_tied_params.cpp). The owner (the first op in graph order) keeps
// the weight, its gradient and optimizer state; every op using it computes with it and
// adds its own gradient into the one gradient, and the update runs once. Backward runs in
// reverse op order, so the last user in graph order writes the gradient first (overwrite)
// and the others, owner included, add into it.
int param_owner(const Graph& g, int i);  // i itself when it owns its parameters
bool first_grad_writer(const Graph& g, int i);
// The owner's weight behind parameter `k` of op i, checked against `dims`; op i's IR name
// for it becomes a view of it (so read-back by either name works).
Weight& tied_weight(Lowering& ctx, int i, size_t k, const memory::dims& dims);
// Where op i's backward writes its gradient of `w`, produced in layout `diff`: w.grad itself
// when op i writes it first and in its layout, else a buffer that close_weight_grad then
// copies (first writer) or adds (the others) into w.grad.
memory weight_grad_sink(Lowering& ctx, int i, const Weight& w, const memory::desc& diff);
void close_weight_grad(Lowering& ctx, int i, const Weight& w, const memory& sink, const std::string& what);

// A primitive descriptor in the layouts we would like (`preferred`: those of the forward
// pass, so no reorders), unless only oneDNN's reference kernel implements them: reference
// kernels accept any layout, and one would silently run ~100x slower than the layouts the
// library picks itself (`fallback`, with format `any`), plus a visible reorder.
template <class Pd, class Preferred, class Fallback>
Pd optimized_or(Preferred preferred, Fallback fallback) {
  try {
    Pd pd = preferred();
    if (std::string(pd.impl_info_str()).rfind("ref", 0) != 0) return pd;
  } catch (const dnnl::error&) {
  }
  return fallback();
}

// Padding on the right/bottom that makes a window op produce `out` from `in`.
int64_t pad_right(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad_left);
// A conv op's weight dims ([O, C, K, K]; grouped [G, O/G, C/G, K, K]), fan-in, strides and
// padding on input dims `in` (onednn_conv.cpp; f32, bf16 and int8 convs).
struct ConvGeometry {
  memory::dims weights, strides, pad_l, pad_r;
  float fan_in = 0;
};
ConvGeometry conv_geometry(const Op& op, const Dims& in);
// A dense op's weight dims: [out, C, H, W] on images, [out, features] otherwise (onednn_dense.cpp).
memory::dims dense_weight_dims(const Op& op, const Dims& in);
// A view of a plain memory with other dims (same bytes).
memory view(const memory& m, const memory::dims& dims, const dnnl::engine& e);

}  // namespace paradnn::cpu
