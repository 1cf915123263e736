// int8 inference for dense and conv ops (an op whose dtype is int8; paradnn/quantization.hpp
// has the scale convention). The op's f32 input is quantized by a visible reorder call
// (<op>.in0:quantize) into u8 when it is known to be >= 0 (after a ReLU) and s8 otherwise;
// weights are s8 with one scale per output channel, quantized once when the point is
// prepared; the primitive accumulates in s32 and its output scales (input scale x weight
// scale of the channel) dequantize straight into an f32 output, with a following ReLU
// fused as a post-op. Where that ReLU feeds int8 dense/conv ops only, the output scales
// requantize into u8 at their input scale instead, and they read it as is (no f32 between).
// oneDNN adds the bias to the s32 accumulator before the output scales, so it is stored in
// accumulator units. A batch norm that alone reads an int8 conv is folded into it (the
// FusionPlan decides; weights x gamma/sqrt(var+eps) per channel before quantization, the
// shift into the bias), so conv -> norm -> ReLU -> conv hands off u8 too.
// LSTM and GRU stacks: onednn_rnn_int8.cpp. Inference only.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "paradnn/cost.hpp"
#include "paradnn/quantization.hpp"
#include "platforms/cpu/backend/onednn_int8.hpp"
#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

namespace {

struct Int8Op {
  Dt src_type = Dt::s8;
  float input_scale = 1.f;
  float handoff = 0;  // u8 output scale (handoff_scale), 0 for an f32 output
  dnnl::primitive_attr attr;
  std::vector<float> acc_scales;  // per output channel: input scale x weight scale (one s32 unit)
  std::vector<float> out_scales;  // acc_scales, over the hand-off scale where there is one
};

}  // namespace

void check_int8_op(const Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  if (ctx.training()) throw std::invalid_argument(op.name + ": int8 is implemented for inference only");
  if (op.shares_params_with >= 0) throw std::invalid_argument(op.name + ": int8 ops with tied parameters are not implemented");
  if (!(op.quant.input_scale > 0)) throw std::logic_error(op.name + ": int8 op without an input scale (not calibrated)");
}

namespace {

// The f32 weights (seeded, or ParamStore::initial) in the IR's order, registered so that
// read-back by name works, and their s8 copy in the primitive's layout.
memory quantized_weights(Lowering& ctx, int i, const memory::dims& w_dims, const memory::desc& w_md, float fan_in,
                         std::vector<float>& scales, const std::vector<float>& channel_factor = {}) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const memory::desc plain(w_dims, Dt::f32, plain_tag(w_dims.size()));
  Weight& w = ctx.params().add(e, ctx.stream(), i, op.name + ".weight", plain, plain, std::sqrt(6.0f / fan_in));
  w.views[op.params.at(0).name] = 0;
  const auto* f = static_cast<const float*>(w.w.get_data_handle());
  std::vector<float> values(f, f + plain.get_size() / sizeof(float));
  const int64_t channels = op.params.at(0).dims.at(0);
  if (!channel_factor.empty())  // a folded norm's scale, per output channel
    for (size_t k = 0; k < values.size(); ++k) values[k] *= channel_factor[k / (values.size() / static_cast<size_t>(channels))];
  scales = weight_scales(values, channels);
  std::vector<int8_t> q(values.size());
  const size_t per = values.size() / static_cast<size_t>(channels);
  for (size_t k = 0; k < q.size(); ++k) q[k] = quantize_s8(values[k], scales[k / per]);
  memory src(memory::desc(w_dims, Dt::s8, plain_tag(w_dims.size())), e, q.data());
  memory dst(w_md, e);
  dnnl::reorder(src, dst).execute(ctx.stream(), src, dst);
  ctx.stream().wait();
  return dst;
}

// A batch norm folded into a conv: y = x * scale + shift per output channel.
struct Fold {
  std::vector<float> scale, shift;
};

Fold fold_norm(Lowering& ctx, int norm) {
  const NormParams np = add_norm_params(ctx, norm);
  auto values = [](const Weight* w) {
    const auto* f = static_cast<const float*>(w->w.get_data_handle());
    return std::vector<float>(f, f + w->w.get_desc().get_size() / sizeof(float));
  };
  const std::vector<float> gamma = values(np.gamma), beta = values(np.beta), mean = values(np.mean), var = values(np.var);
  Fold f;
  for (size_t c = 0; c < gamma.size(); ++c) {
    f.scale.push_back(gamma[c] / std::sqrt(var[c] + kNormEpsilon));
    f.shift.push_back(beta[c] - mean[c] * f.scale.back());
  }
  return f;
}

// The bias (the op's own, then through a folded norm) in accumulator units: divided by each
// channel's input x weight scale, as oneDNN adds it to the s32 accumulator before the output scales.
memory quantized_bias(Lowering& ctx, int i, int64_t out, const std::vector<float>& acc_scales, const Fold* fold = nullptr) {
  const Op& op = ctx.graph().op(i);
  const memory::desc md({out}, Dt::f32, Tag::a);
  std::vector<float> bias(static_cast<size_t>(out), 0.f);
  if (op.bias) {
    Weight& b = ctx.params().add(ctx.engine(), ctx.stream(), i, op.name + ".bias", md, md, 0.f, true);
    b.views[op.params.at(1).name] = 0;
    const auto* f = static_cast<const float*>(b.w.get_data_handle());
    bias.assign(f, f + out);
  }
  if (fold)
    for (size_t c = 0; c < bias.size(); ++c) bias[c] = bias[c] * fold->scale[c] + fold->shift[c];
  memory q(md, ctx.engine());
  auto* d = static_cast<float*>(q.get_data_handle());
  for (int64_t c = 0; c < out; ++c) d[c] = bias[static_cast<size_t>(c)] / acc_scales[static_cast<size_t>(c)];
  return q;
}

// The u8 scale op i hands its output over with, or 0 for an f32 output: when a ReLU is
// fused into it (the output is >= 0) and every consumer of that ReLU is an int8 dense or
// conv op, all of which read u8 at the same input scale (calibrated on this one tensor).
float handoff_scale(const Lowering& ctx, int i) {
  if (ctx.fusion().fused_post(i) != Activation::relu) return 0;
  const Graph& g = ctx.graph();
  float scale = 0;
  for (int c = i + 1; c < static_cast<int>(g.ops.size()); ++c) {
    if (ctx.fusion().fused_away(c)) continue;  // the ReLU itself (and a folded norm)
    const Op& op = g.op(c);
    for (int x : op.inputs) {
      if (ctx.fusion().canonical(x) != i) continue;
      if (op.dtype != DType::int8 || (op.kind != OpKind::dense && op.kind != OpKind::conv)) return 0;
      if (scale != 0 && op.quant.input_scale != scale) return 0;
      scale = op.quant.input_scale;
    }
  }
  return scale;
}

Int8Op prepare(const Lowering& ctx, int i) {
  check_int8_op(ctx, i);
  Int8Op q;
  q.src_type = input_nonnegative(ctx.graph(), i) ? Dt::u8 : Dt::s8;
  q.input_scale = ctx.graph().op(i).quant.input_scale;
  q.handoff = handoff_scale(ctx, i);
  q.attr = make_attr(ctx.fusion().fused_post(i));
  return q;
}

Dt output_type(const Int8Op& q) { return q.handoff > 0 ? Dt::u8 : Dt::f32; }

// Output scales are known only once the weights are; a primitive descriptor made with
// placeholder scales (mask: per channel, dim 1) chooses the weights' layout first. They
// dequantize the s32 accumulator into f32, or requantize it into u8 at the hand-off scale.
void set_scales(Int8Op& q, const std::vector<float>& w_scales) {
  q.acc_scales.resize(w_scales.size());
  q.out_scales.resize(w_scales.size());
  const float to = q.handoff > 0 ? q.handoff : 1.f;
  for (size_t c = 0; c < w_scales.size(); ++c) {
    q.acc_scales[c] = q.input_scale * w_scales[c];
    q.out_scales[c] = q.acc_scales[c] / to;
  }
  q.attr.set_output_scales(1 << 1, q.out_scales);
}

// Op i's input quantized into `want`: read as is where its producer handed it over in u8
// (at this op's input scale, handoff_scale), else quantized from f32 by a call of its own,
// which consumers of the same tensor at the same scale and layout share (a ResNet block's
// conv1 and projection read one tensor).
memory quantized_input(Lowering& ctx, int i, const memory::desc& want, float input_scale, const memory::dims& as) {
  const Op& op = ctx.graph().op(i);
  const memory::desc have = ctx.input_desc(i, 0, Dt::f32);
  if (have.data_type() == Dt::u8) {
    if (ctx.output_scale(op.inputs.at(0)) != input_scale) throw std::logic_error(op.name + ": u8 input at another scale");
    if (have.dims() == as) return ctx.input(i, 0, want);
    return ctx.in_layout(i, false, op.name + ".in0", view(ctx.input(i, 0, have), as, ctx.engine()), want);
  }
  const int t = ctx.fusion().canonical(op.inputs.at(0));
  if (const memory done = ctx.quantized(t, input_scale, want)) return done;
  memory x = ctx.input(i, 0, have);
  if (x.get_desc().data_type() != Dt::f32) throw std::logic_error(op.name + ": int8 ops take an f32 input");
  if (x.get_desc().dims() != as) x = view(x, as, ctx.engine());
  memory xq(want, ctx.engine());
  dnnl::primitive_attr attr = make_attr();
  attr.set_output_scales(0, {1.f / input_scale});
  ctx.add_quantize(i, op.name + ".in0:quantize", x, xq, attr);
  ctx.keep_quantized(t, input_scale, xq);
  return xq;
}

}  // namespace

void build_dense_int8(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  Int8Op q = prepare(ctx, i);
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const int64_t out = op.out.back();
  const bool image = in.size() == 4;
  const GemmRows r = dense_gemm_rows(in);
  const memory::dims w_dims = dense_weight_dims(op, in);
  const memory::dims x_dims = image ? memory::dims{in[0], in[1], in[2], in[3]} : memory::dims{r.rows, r.features};
  const memory::desc x_any(x_dims, q.src_type, image ? Tag::any : Tag::ab);
  const memory::desc y2_md({r.rows, out}, output_type(q), Tag::ab);
  const memory::desc w_any(w_dims, Dt::s8, Tag::any);
  const memory::desc b_md = op.bias ? memory::desc({out}, Dt::f32, Tag::a) : memory::desc();
  const auto prop = dnnl::prop_kind::forward_inference;
  set_scales(q, std::vector<float>(static_cast<size_t>(out), 1.f));
  dnnl::inner_product_forward::primitive_desc probe({prop, x_any, w_any, b_md, y2_md}, q.attr, e);

  std::vector<float> w_scales;
  const memory w = quantized_weights(ctx, i, w_dims, probe.weights_desc(), static_cast<float>(r.features), w_scales);
  set_scales(q, w_scales);
  dnnl::inner_product_forward::primitive_desc pd({prop, x_any, probe.weights_desc(), b_md, y2_md}, q.attr, e);
  memory xq = quantized_input(ctx, i, pd.src_desc(), q.input_scale, x_dims);
  memory y = ctx.new_output(i, plain_desc(op.out, output_type(q)));
  if (q.handoff > 0) ctx.set_output_scale(i, q.handoff);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, xq}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, view(y, {r.rows, out}, e)}};
  if (op.bias) args[DNNL_ARG_BIAS] = quantized_bias(ctx, i, out, q.acc_scales);
  ctx.add(i, Phase::fwd, dnnl::inner_product_forward(pd), pd, args);
}

void build_conv_int8(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  Int8Op q = prepare(ctx, i);
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const int64_t o = op.out[1];
  const ConvGeometry geo = conv_geometry(op, in);
  const memory::dims& w_dims = geo.weights;
  const memory::dims x_dims{in[0], in[1], in[2], in[3]};
  const memory::desc x_any(x_dims, q.src_type, Tag::any);
  const memory::desc y_any({op.out[0], op.out[1], op.out[2], op.out[3]}, output_type(q), Tag::any);
  const memory::desc w_any(w_dims, Dt::s8, Tag::any);
  const int norm = ctx.fusion().folded_norm(i);
  const Fold fold = norm >= 0 ? fold_norm(ctx, norm) : Fold{};
  const memory::desc b_md = op.bias || norm >= 0 ? memory::desc({o}, Dt::f32, Tag::a) : memory::desc();
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  set_scales(q, std::vector<float>(static_cast<size_t>(o), 1.f));
  dnnl::convolution_forward::primitive_desc probe({prop, alg, x_any, w_any, b_md, y_any, geo.strides, geo.pad_l, geo.pad_r}, q.attr, e);

  std::vector<float> w_scales;
  const memory w = quantized_weights(ctx, i, w_dims, probe.weights_desc(), geo.fan_in, w_scales, fold.scale);
  set_scales(q, w_scales);
  dnnl::convolution_forward::primitive_desc pd(
      {prop, alg, x_any, probe.weights_desc(), b_md, y_any, geo.strides, geo.pad_l, geo.pad_r}, q.attr, e);
  memory xq = quantized_input(ctx, i, pd.src_desc(), q.input_scale, x_dims);
  memory y = ctx.new_output(i, pd.dst_desc());
  if (q.handoff > 0) ctx.set_output_scale(i, q.handoff);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, xq}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}};
  if (op.bias || norm >= 0) args[DNNL_ARG_BIAS] = quantized_bias(ctx, i, o, q.acc_scales, norm >= 0 ? &fold : nullptr);
  ctx.add(i, Phase::fwd, dnnl::convolution_forward(pd), pd, args);
}

}  // namespace paradnn::cpu

namespace paradnn::cpu {

std::optional<std::string> int8_unsupported_reason(const Graph& g, const Op& op, Mode m) {
  if (m == Mode::train) return "int8 is implemented for inference only (integer training: paradnn lowp)";
  switch (op.kind) {
    case OpKind::dense:
    case OpKind::conv:
      if (op.shares_params_with >= 0) return op.name + ": int8 with tied parameters is not implemented";
      return std::nullopt;
    case OpKind::relu:
      if (g.op(op.inputs.at(0)).dtype == DType::int8) return std::nullopt;
      break;
    case OpKind::rnn:
      if (op.cell != RnnCell::rnn) return std::nullopt;
      return op.name + ": oneDNN 2.6 has int8 LSTM and GRU cells but no int8 vanilla RNN cell; "
             "keep rnn layers in f32 with precision.keep_f32";
    default: break;
  }
  return std::string(to_string(op.kind)) + " (op " + op.name +
         ") has no int8 implementation: int8 applies to dense and conv layers, other ops run in f32 "
         "(the precision policy sets them; apply_precision)";
}

}  // namespace paradnn::cpu
