// Convolutions (grouped and depthwise included) as oneDNN convolution primitives: layouts
// chosen by the library (blocked for the vector width), a following ReLU fused as a
// post-op, weights reordered once when the point is prepared.

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

namespace {

using dnnl::convolution_backward_data;
using dnnl::convolution_backward_weights;
using dnnl::convolution_forward;

}  // namespace

ConvGeometry conv_geometry(const Op& op, const Dims& in) {
  const int64_t g = op.groups, o = op.out[1], k = op.kernel;
  ConvGeometry geo;
  geo.weights = g == 1 ? memory::dims{o, in[1], k, k} : memory::dims{g, o / g, in[1] / g, k, k};
  geo.strides = {op.stride, op.stride};
  geo.pad_l = {op.pad, op.pad};
  geo.pad_r = {pad_right(in[2], op.out[2], k, op.stride, op.pad), pad_right(in[3], op.out[3], k, op.stride, op.pad)};
  geo.fan_in = static_cast<float>(in[1] / g * k * k);
  return geo;
}

void build_conv(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dt t = to_dnnl(op.dtype);
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const int64_t o = op.out[1];
  const ConvGeometry geo = conv_geometry(op, in);
  const memory::dims& w_dims = geo.weights;
  const memory::desc x_any({in[0], in[1], in[2], in[3]}, t, Tag::any);
  const memory::desc y_any({op.out[0], op.out[1], op.out[2], op.out[3]}, t, Tag::any);
  const memory::desc w_any(w_dims, t, Tag::any);
  const memory::desc b_md = op.bias ? memory::desc({o}, Dt::f32, Tag::a) : memory::desc();
  const auto prop = ctx.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  convolution_forward::primitive_desc pd({prop, alg, x_any, w_any, b_md, y_any, geo.strides, geo.pad_l, geo.pad_r},
                                         make_attr(ctx.fusion().fused_post(i)), e);

  memory x = ctx.input(i, 0, pd.src_desc());
  memory y = ctx.new_output(i, pd.dst_desc());
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
  const WeightAndBias wb = add_weight_and_bias(ctx, i, w_dims, pd.weights_desc(), geo.fan_in, b_md, args);
  ctx.add(i, Phase::fwd, convolution_forward(pd), pd, args);
  if (!ctx.training()) return;

  memory dy = ctx.grad(i);
  add_post_backward(ctx, i, y, dy);
  if (ctx.needs_input_grad(i, 0)) {
    using Bd = convolution_backward_data::primitive_desc;
    auto bd = optimized_or<Bd>(
        [&]() -> Bd { return {{alg, pd.src_desc(), pd.weights_desc(), pd.dst_desc(), geo.strides, geo.pad_l, geo.pad_r}, make_attr(), e, pd}; },
        [&]() -> Bd { return {{alg, x_any, w_any, y_any, geo.strides, geo.pad_l, geo.pad_r}, make_attr(), e, pd}; });
    // The library may want another weights layout backward: a visible reorder per step.
    const memory wd = ctx.in_layout(i, true, op.name + ".weight", wb.compute, bd.weights_desc());
    memory dyd = ctx.grad_as(i, bd.diff_dst_desc());
    Sink s = ctx.sink(i, 0, bd.diff_src_desc());
    ctx.add(i, Phase::bwd, convolution_backward_data(bd), bd,
            {{DNNL_ARG_DIFF_DST, dyd}, {DNNL_ARG_WEIGHTS, wd}, {DNNL_ARG_DIFF_SRC, s.mem}});
    ctx.close(i, s);
  }
  // The gradient in the weights' own layout (f32), so the f32 master is the weights themselves.
  using Wd = convolution_backward_weights::primitive_desc;
  const memory::desc dw_any(w_dims, Dt::f32, Tag::any);
  auto wd = optimized_or<Wd>(
      [&]() -> Wd {
        const memory::desc dw = t == Dt::f32 ? pd.weights_desc() : dw_any;
        return {{alg, pd.src_desc(), dw, b_md, pd.dst_desc(), geo.strides, geo.pad_l, geo.pad_r}, make_attr(), e, pd};
      },
      [&]() -> Wd { return {{alg, pd.src_desc(), dw_any, b_md, y_any, geo.strides, geo.pad_l, geo.pad_r}, make_attr(), e, pd}; });
  add_weight_gradients(ctx, i, wb, convolution_backward_weights(wd), wd, x, ctx.grad_as(i, wd.diff_dst_desc()));
}

}  // namespace paradnn::cpu
