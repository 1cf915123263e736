#include "paradnn/graph_builder.hpp"

#include "paradnn/cost.hpp"

#include <stdexcept>

namespace paradnn {

int64_t window_out(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  const int64_t out = (in + 2 * pad - kernel) / stride + 1;
  if (out < 1) throw std::invalid_argument("window larger than input: in " + std::to_string(in) + ", kernel " + std::to_string(kernel));
  return out;
}

GraphBuilder::GraphBuilder(std::string family, std::string name, int64_t batch, DType dtype, Optimizer opt) {
  g_.family = std::move(family);
  g_.name = std::move(name);
  g_.batch = batch;
  g_.dtype = dtype;
  g_.optimizer = opt;
}

int GraphBuilder::push(Op op) {
  if (op.dtype == DType::f32) op.dtype = g_.dtype;
  // The first layer after data needs no gradient for its input.
  if (!op.inputs.empty()) {
    const OpKind k = g_.op(op.inputs[0]).kind;
    op.needs_input_grad = !(k == OpKind::input || k == OpKind::token_input);
  }
  return g_.add(std::move(op));
}

int GraphBuilder::input(const Dims& dims) {
  Op op;
  op.kind = OpKind::input;
  op.name = "data";
  op.out = dims;
  return push(op);
}

int GraphBuilder::token_input(int64_t seq_len) {
  Op op;
  op.kind = OpKind::token_input;
  op.name = "tokens";
  op.out = {seq_len, g_.batch};
  op.dtype = DType::s32;
  return g_.add(op);
}

int GraphBuilder::embedding(int x, int64_t vocab, int64_t embed, const std::string& name) {
  Op op;
  op.kind = OpKind::embedding;
  op.name = name;
  op.inputs = {x};
  const Dims& ids = g_.dims_of(x);
  op.out = {ids[0], ids[1], embed};
  op.classes = vocab;
  op.params = {{name + ".table", {vocab, embed}}};
  op.needs_input_grad = false;
  op.dtype = g_.dtype;
  return g_.add(op);
}

int GraphBuilder::dense(int x, int64_t out, const std::string& name, bool bias) {
  Op op;
  op.kind = OpKind::dense;
  op.name = name;
  op.inputs = {x};
  const Dims& in = g_.dims_of(x);
  op.out = in.size() == 3 ? Dims{in[0], in[1], out} : Dims{in[0], out};
  op.bias = bias;
  op.params = {{name + ".weight", {out, dense_gemm_rows(in).features}}};
  if (bias) op.params.push_back({name + ".bias", {out}});
  return push(op);
}

int GraphBuilder::conv(int x, int64_t out_channels, int64_t kernel, int64_t stride, int64_t pad,
                       const std::string& name, int64_t groups) {
  const Dims& in = g_.dims_of(x);
  if (in.size() != 4) throw std::invalid_argument(name + ": conv needs an NCHW input");
  if (in[1] % groups || out_channels % groups) throw std::invalid_argument(name + ": channels not divisible by groups");
  Op op;
  op.kind = OpKind::conv;
  op.name = name;
  op.inputs = {x};
  op.kernel = kernel;
  op.stride = stride;
  op.pad = pad;
  op.groups = groups;
  op.out = {in[0], out_channels, window_out(in[2], kernel, stride, pad), window_out(in[3], kernel, stride, pad)};
  op.params = {{name + ".weight", {out_channels, in[1] / groups, kernel, kernel}}};
  return push(op);
}

int GraphBuilder::conv_bias(int x, int64_t out_channels, int64_t kernel, int64_t stride, int64_t pad,
                            const std::string& name, int64_t groups) {
  const int id = conv(x, out_channels, kernel, stride, pad, name, groups);
  Op& op = g_.ops.back();
  op.bias = true;
  op.params.push_back({name + ".bias", {out_channels}});
  return id;
}

int GraphBuilder::batch_norm(int x, const std::string& name) {
  Op op;
  op.kind = OpKind::batch_norm;
  op.name = name;
  op.inputs = {x};
  op.out = g_.dims_of(x);
  op.params = {{name + ".gamma", {op.out[1]}}, {name + ".beta", {op.out[1]}}};
  return push(op);
}

namespace {
Op eltwise(OpKind k, const Graph& g, int x, const std::string& name) {
  Op op;
  op.kind = k;
  op.name = name;
  op.inputs = {x};
  op.out = g.dims_of(x);
  return op;
}
}  // namespace

int GraphBuilder::relu(int x, const std::string& name) { return push(eltwise(OpKind::relu, g_, x, name)); }
int GraphBuilder::tanh(int x, const std::string& name) { return push(eltwise(OpKind::tanh, g_, x, name)); }

int GraphBuilder::max_pool(int x, int64_t kernel, int64_t stride, int64_t pad, const std::string& name) {
  Op op = eltwise(OpKind::max_pool, g_, x, name);
  const Dims& in = g_.dims_of(x);
  op.kernel = kernel;
  op.stride = stride;
  op.pad = pad;
  op.out = {in[0], in[1], window_out(in[2], kernel, stride, pad), window_out(in[3], kernel, stride, pad)};
  return push(op);
}

int GraphBuilder::avg_pool(int x, int64_t kernel, int64_t stride, int64_t pad, const std::string& name) {
  const int id = max_pool(x, kernel, stride, pad, name);
  g_.ops.back().kind = OpKind::avg_pool;
  return id;
}

int GraphBuilder::global_avg_pool(int x, const std::string& name) {
  const Dims& in = g_.dims_of(x);
  if (in[2] != in[3]) throw std::invalid_argument(name + ": global pooling expects a square feature map");
  return avg_pool(x, in[2], 1, 0, name);
}

int GraphBuilder::add(const std::vector<int>& xs, const std::string& name) {
  Op op = eltwise(OpKind::add, g_, xs.at(0), name);
  for (int x : xs)
    if (g_.dims_of(x) != op.out) throw std::invalid_argument(name + ": add of tensors with different shapes");
  op.inputs = xs;
  return push(op);
}

int GraphBuilder::concat(const std::vector<int>& xs, const std::string& name) {
  Op op = eltwise(OpKind::concat, g_, xs.at(0), name);
  op.inputs = xs;
  op.out[1] = 0;
  for (int x : xs) op.out[1] += g_.dims_of(x)[1];
  return push(op);
}

int GraphBuilder::rnn(int x, RnnCell cell, int64_t layers, int64_t hidden, const std::string& name) {
  const Dims& in = g_.dims_of(x);
  if (in.size() != 3) throw std::invalid_argument(name + ": rnn needs a [T, N, C] input");
  Op op;
  op.kind = OpKind::rnn;
  op.name = name;
  op.inputs = {x};
  op.cell = cell;
  op.layers = layers;
  op.out = {in[0], in[1], hidden};
  const int64_t gh = gates(cell) * hidden;
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = name + ".l" + std::to_string(l);
    op.params.push_back({p + ".w_x", {gh, l == 0 ? in[2] : hidden}});
    op.params.push_back({p + ".w_h", {gh, hidden}});
    op.params.push_back({p + ".bias", {gh}});
  }
  return push(op);
}

int GraphBuilder::softmax_xent(int logits, const std::string& name) {
  Op op;
  op.kind = OpKind::softmax_xent;
  op.name = name;
  op.inputs = {logits};
  op.classes = g_.dims_of(logits).back();
  op.out = {1};
  op.dtype = DType::f32;  // loss in f32
  return g_.add(op);
}

int GraphBuilder::layer_norm(int x, const std::string& name) {
  Op op = eltwise(OpKind::layer_norm, g_, x, name);
  op.params = {{name + ".gamma", {op.out.back()}}, {name + ".beta", {op.out.back()}}};
  return push(op);
}

int GraphBuilder::gelu(int x, const std::string& name) { return push(eltwise(OpKind::gelu, g_, x, name)); }

int GraphBuilder::batched_matmul(int a, int b, bool transpose_b, const std::string& name) {
  const Dims& da = g_.dims_of(a);
  const Dims& db = g_.dims_of(b);
  if (da.size() != 3 || db.size() != 3 || da[0] != db[0]) throw std::invalid_argument(name + ": batched_matmul needs [B, M, K] x [B, K, N]");
  const int64_t k = transpose_b ? db[2] : db[1], n = transpose_b ? db[1] : db[2];
  if (k != da[2]) throw std::invalid_argument(name + ": inner dimensions differ");
  Op op = eltwise(OpKind::batched_matmul, g_, a, name);
  op.inputs = {a, b};
  op.transpose_b = transpose_b;
  op.out = {da[0], da[1], n};
  return push(op);
}

int GraphBuilder::softmax(int x, bool causal, const std::string& name) {
  Op op = eltwise(OpKind::softmax, g_, x, name);
  op.causal = causal;
  return push(op);
}

int GraphBuilder::upsample(int x, int64_t factor, const std::string& name) {
  Op op = eltwise(OpKind::upsample, g_, x, name);
  op.kernel = factor;
  op.out[2] *= factor;
  op.out[3] *= factor;
  return push(op);
}

int GraphBuilder::reshape(int x, const Dims& dims, const std::string& name) {
  if (elements(dims) != elements(g_.dims_of(x))) throw std::invalid_argument(name + ": reshape changes the element count");
  Op op = eltwise(OpKind::reshape, g_, x, name);
  op.out = dims;
  return push(op);
}

int GraphBuilder::transpose(int x, const std::vector<int>& perm, const std::string& name) {
  const Dims& in = g_.dims_of(x);
  if (perm.size() != in.size()) throw std::invalid_argument(name + ": permutation rank differs from the input's");
  Op op = eltwise(OpKind::transpose, g_, x, name);
  op.perm = perm;
  for (size_t i = 0; i < perm.size(); ++i) op.out[i] = in[static_cast<size_t>(perm[i])];
  return push(op);
}

int GraphBuilder::focal_loss(int logits, const std::string& name) {
  Op op;
  op.kind = OpKind::focal_loss;
  op.name = name;
  op.inputs = {logits};
  op.classes = g_.dims_of(logits).back();
  op.out = {1};
  op.dtype = DType::f32;
  return g_.add(op);
}

void GraphBuilder::share_params(int user, int owner) {
  Op& u = g_.ops.at(static_cast<size_t>(user));
  const Op& o = g_.op(owner);
  if (u.params.size() != o.params.size()) throw std::invalid_argument(u.name + ": cannot share " + o.name + "'s parameters");
  for (size_t i = 0; i < u.params.size(); ++i)
    if (elements(u.params[i].dims) != elements(o.params[i].dims))
      throw std::invalid_argument(u.name + ": parameter shapes differ from " + o.name + "'s");
  u.shares_params_with = owner;
}

Graph GraphBuilder::finish() {
  g_.finalize();
  return std::move(g_);
}

}  // namespace paradnn
