// The oneDNN lowering of each graph op kind: one factory per file, each appending its
// forward, backward and parameter work to the Net (see onednn_net.hpp).
#pragma once
#include <optional>
#include <string>

#include "platforms/cpu/onednn_net.hpp"

namespace paradnn::cpu {

void build_op(Net& net, int i);
// Why the CPU backend cannot run an op (a kind or attribute it does not implement), or nullopt.
std::optional<std::string> unsupported_reason(const Op& op);

void build_dense(Net& net, int i);
void build_conv(Net& net, int i);
void build_batch_norm(Net& net, int i);
void build_eltwise(Net& net, int i);  // relu, tanh, gelu not fused into a producer
void build_pool(Net& net, int i);
void build_add(Net& net, int i);
void build_concat(Net& net, int i);
void build_embedding(Net& net, int i);
void build_rnn(Net& net, int i);
void build_softmax_xent(Net& net, int i);
void build_reshape(Net& net, int i);     // onednn_layout.cpp
void build_transpose(Net& net, int i);   // onednn_layout.cpp
void build_upsample(Net& net, int i);    // onednn_layout.cpp
void build_batched_matmul(Net& net, int i);  // onednn_attention.cpp
void build_softmax(Net& net, int i);         // onednn_attention.cpp
void build_layer_norm(Net& net, int i);      // onednn_attention.cpp
void build_focal_loss(Net& net, int i);

// Backward of a fused ReLU post-op, in place on op i's output gradient (before the op's
// own backward reads it).
void add_post_backward(Net& net, int i, const memory& y, const memory& dy);
// The weight (and bias) of a dense or conv op, initialized He-uniform for `fan_in`, in the
// layout the forward primitive chose; adds them to the forward call's arguments.
struct WeightAndBias {
  Weight* w = nullptr;
  Weight* b = nullptr;
};
WeightAndBias add_weight_and_bias(Net& net, int i, const memory::dims& w_dims, const memory::desc& w_md, float fan_in,
                                  const memory::desc& b_md, std::unordered_map<int, memory>& args);
// Training state for them and the backward-weights call that writes their gradients.
void add_weight_gradients(Net& net, int i, WeightAndBias wb, const dnnl::primitive& p, const dnnl::primitive_desc& pd,
                          const memory& src, const memory& dy);

// Padding on the right/bottom that makes a window op produce `out` from `in`.
int64_t pad_right(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad_left);
// A view of a plain memory with other dims (same bytes).
memory view(const memory& m, const memory::dims& dims, const dnnl::engine& e);

}  // namespace paradnn::cpu
