// Dense and conv ops of an int16_dfp graph: INT16 dynamic fixed point products (Das et al.
// 2018) from platforms/cpu/lowp, every other op in f32 through oneDNN. Each tensor a product
// reads is quantized once per step with one shared exponent (activations to the full int16
// range, weights and gradients to 12 bits: lowp/dfp.hpp says why) and kept for the backward
// products that read it too (x for backward-weights,
// w for backward-data, dy for both); int16 products accumulate in int32 chains restarted
// before they can overflow, and are scaled back to f32. Weights keep f32 masters; a fused
// ReLU runs on the f32 output and its backward is the usual oneDNN eltwise call.
//
// Dense: y = x W^T (+ b) on [rows, features]; dx = dy W; dW = dy^T x. Conv: activations in
// nChw16c where the channels come in blocks of 16, NHWC otherwise (the stem's 3-channel
// input), KRSC (ohwi) weights. The f32 ops between convs (batch norm, pools, adds) then run
// on the blocked layout oneDNN prefers, as in an f32 graph (on NHWC, measured on a Zen 4:
// batch norm 1.29x and the stem's max-pool backward 3.3x slower); groups are not implemented.
#include <algorithm>
#include <memory>

#include "paradnn/cost.hpp"
#include "platforms/cpu/backend/onednn_ops.hpp"
#include "platforms/cpu/lowp/dfp.hpp"
#include "platforms/cpu/lowp/dfp_conv.hpp"
#include "platforms/cpu/lowp/int_gemm.hpp"

namespace paradnn::cpu {

namespace {

using lowp::IntIsa;

// C (f32, overwritten) = op(A) op(B) for DFP operands of a dense op's shape.
void product(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const lowp::DfpTensor& a, const lowp::DfpTensor& b, float* c,
             IntIsa isa) {
  lowp::dfp_gemm(ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), a, b, c, isa);
}

float* data(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

void relu_in_place(float* y, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t k = 0; k < n; ++k) y[k] = y[k] > 0.f ? y[k] : 0.f;
}

// Training state of a DFP weight (and bias): gradients in the weight's own layout.
void train_weights(Lowering& ctx, const WeightAndBias& wb) {
  ctx.params().train(ctx.engine(), ctx.stream(), *wb.w, wb.w->w.get_desc(), ctx.graph().optimizer);
  if (wb.b) ctx.params().train(ctx.engine(), ctx.stream(), *wb.b, wb.b->w.get_desc(), ctx.graph().optimizer);
}

}  // namespace

std::optional<std::string> dfp_unsupported_reason(const Op& op) {
  if (op.shares_params_with >= 0) return op.name + ": int16_dfp does not implement tied parameters";
  if (op.kind == OpKind::conv && op.groups != 1) return op.name + ": int16_dfp convolutions are not grouped (depthwise)";
  return std::nullopt;
}

void build_dense_dfp(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const GemmRows r = dense_gemm_rows(in);
  const int64_t out = op.out.back();
  const memory::dims w_dims = dense_weight_dims(op, in);
  const memory::desc w_md(w_dims, Dt::f32, plain_tag(w_dims.size()));
  const memory::desc b_md = op.bias ? memory::desc({out}, Dt::f32, Tag::a) : memory::desc();
  const memory x = ctx.input(i, 0, plain_desc(in, Dt::f32));  // [rows, features] in memory
  const memory y = ctx.new_output(i, plain_desc(op.out, Dt::f32));
  std::unordered_map<int, memory> unused;
  const WeightAndBias wb = add_weight_and_bias(ctx, i, w_dims, w_md, static_cast<float>(r.features), b_md, unused);
  const bool relu = ctx.fusion().fused_post(i) == Activation::relu;
  const IntIsa isa = lowp::detected_int_isa();
  struct State {
    lowp::DfpTensor x, w, dy;
  };
  auto st = std::make_shared<State>();
  const memory w = wb.w->w, b = wb.b ? wb.b->w : memory();
  ctx.add_kernel(i, Phase::fwd, "paradnn:dfp_gemm:" + lowp::to_string(lowp::vector_isa(isa)), [=] {
    st->x.quantize(data(x), static_cast<size_t>(r.rows * r.features), lowp::kDfpActivationMax);
    st->w.quantize(data(w), static_cast<size_t>(out * r.features));
    float* yp = data(y);
    product(false, true, r.rows, out, r.features, st->x, st->w, yp, isa);
    if (b) {
      const float* bias = data(b);
#pragma omp parallel for schedule(static)
      for (int64_t row = 0; row < r.rows; ++row)
        for (int64_t c = 0; c < out; ++c) yp[row * out + c] += bias[c];
    }
    if (relu) relu_in_place(yp, r.rows * out);
  }, {x, y});
  if (!ctx.training()) return;

  train_weights(ctx, wb);
  const memory dy = ctx.grad(i);
  add_post_backward(ctx, i, view(y, {r.rows, out}, ctx.engine()), view(dy, {r.rows, out}, ctx.engine()));
  const bool wanted = ctx.needs_input_grad(i, 0);
  const Sink s = wanted ? ctx.sink(i, 0, plain_desc(in, Dt::f32)) : Sink{};
  const memory dw = wb.w->grad, db = wb.b ? wb.b->grad : memory();
  std::vector<memory> uses = {dy};  // x and w as quantized in the forward pass
  if (wanted) uses.push_back(s.mem);
  ctx.add_kernel(i, Phase::bwd, "paradnn:dfp_gemm:" + lowp::to_string(lowp::vector_isa(isa)), [=] {
    st->dy.quantize(data(dy), static_cast<size_t>(r.rows * out));
    if (wanted) product(false, false, r.rows, r.features, out, st->dy, st->w, data(s.mem), isa);  // dx = dy W
    product(true, false, out, r.features, r.rows, st->dy, st->x, data(dw), isa);                    // dW = dy^T x
    if (db) {  // column sums, 64 columns a task, rows read whole (each column still sums in row order)
      const float* g = data(dy);
      float* gb = data(db);
      constexpr int64_t kCols = 64;
#pragma omp parallel for schedule(static)
      for (int64_t c0 = 0; c0 < out; c0 += kCols) {
        const int64_t cols = std::min(kCols, out - c0);
        float sum[kCols] = {};
        for (int64_t row = 0; row < r.rows; ++row) {
          const float* gr = g + row * out + c0;
#pragma omp simd
          for (int64_t c = 0; c < cols; ++c) sum[c] += gr[c];
        }
        std::copy(sum, sum + cols, gb + c0);
      }
    }
  }, uses);
  if (wanted) ctx.close(i, s);
}

void build_conv_dfp(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  lowp::ConvShape shape;
  shape.n = static_cast<int>(in[0]), shape.c = static_cast<int>(in[1]), shape.k = static_cast<int>(op.out[1]);
  shape.h = static_cast<int>(in[2]), shape.w = static_cast<int>(in[3]);
  shape.r = shape.s = static_cast<int>(op.kernel);
  shape.stride = static_cast<int>(op.stride), shape.pad = static_cast<int>(op.pad);
  if (shape.oh() != op.out[2] || shape.ow() != op.out[3]) throw std::logic_error(op.name + ": DFP conv output size differs");
  const ConvGeometry geo = conv_geometry(op, in);
  shape.in = lowp::preferred_layout(in[1]), shape.out = lowp::preferred_layout(op.out[1]);
  const auto tag = [](lowp::ActLayout l) { return l == lowp::ActLayout::nhwc ? Tag::nhwc : Tag::nChw16c; };
  const memory::desc x_md({in[0], in[1], in[2], in[3]}, Dt::f32, tag(shape.in));
  const memory::desc y_md({op.out[0], op.out[1], op.out[2], op.out[3]}, Dt::f32, tag(shape.out));
  const memory::desc w_md(geo.weights, Dt::f32, Tag::ohwi);  // KRSC
  const memory::desc b_md = op.bias ? memory::desc({op.out[1]}, Dt::f32, Tag::a) : memory::desc();
  const memory x = ctx.input(i, 0, x_md);
  const memory y = ctx.new_output(i, y_md);
  std::unordered_map<int, memory> unused;
  const WeightAndBias wb = add_weight_and_bias(ctx, i, geo.weights, w_md, geo.fan_in, b_md, unused);
  const bool relu = ctx.fusion().fused_post(i) == Activation::relu;
  const IntIsa isa = lowp::detected_int_isa();
  struct State {
    lowp::DfpActivation x, dy;
    lowp::DfpConvWeights w;
  };
  auto st = std::make_shared<State>();
  const memory w = wb.w->w, b = wb.b ? wb.b->w : memory();
  const int64_t y_elems = elements(op.out);
  ctx.add_kernel(i, Phase::fwd, "paradnn:dfp_conv:" + lowp::dfp_conv_kernels(shape, isa, false), [=] {
    lowp::dfp_pack_input(shape, data(x), st->x);
    lowp::dfp_pack_weights(shape, data(w), st->w);
    lowp::dfp_conv_forward(shape, st->x, st->w, b ? data(b) : nullptr, data(y), isa);
    if (relu) relu_in_place(data(y), y_elems);
  }, {x, y});
  if (!ctx.training()) return;

  train_weights(ctx, wb);
  const memory dy = ctx.grad(i);
  add_post_backward(ctx, i, y, dy);
  const bool wanted = ctx.needs_input_grad(i, 0);
  const Sink s = wanted ? ctx.sink(i, 0, x_md) : Sink{};
  const memory dw = wb.w->grad, db = wb.b ? wb.b->grad : memory();
  std::vector<memory> uses = {dy};
  if (wanted) uses.push_back(s.mem);
  ctx.add_kernel(i, Phase::bwd, "paradnn:dfp_conv:" + lowp::dfp_conv_kernels(shape, isa, true), [=] {
    lowp::dfp_pack_grad_output(shape, data(dy), st->dy);
    if (wanted) lowp::dfp_conv_backward_data(shape, st->dy, st->w, data(s.mem), isa);
    lowp::dfp_conv_backward_weights(shape, st->x, st->dy, data(dw), db ? data(db) : nullptr, isa);
  }, uses);
  if (wanted) ctx.close(i, s);
}

}  // namespace paradnn::cpu
