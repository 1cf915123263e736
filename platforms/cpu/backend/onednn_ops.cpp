#include "platforms/cpu/backend/onednn_ops.hpp"

#include <cmath>

namespace paradnn::cpu {

std::optional<std::string> unsupported_reason(const Op& op) {
  if (op.shares_params_with >= 0 && op.kind != OpKind::dense && op.kind != OpKind::conv && op.kind != OpKind::embedding)
    return op.name + ": shared (tied) parameters are implemented for dense, conv and embedding ops only";
  switch (op.kind) {
    case OpKind::input:
    case OpKind::token_input:
    case OpKind::embedding:
    case OpKind::dense:
    case OpKind::conv:
    case OpKind::batch_norm:
    case OpKind::relu:
    case OpKind::tanh:
    case OpKind::gelu:
    case OpKind::max_pool:
    case OpKind::avg_pool:
    case OpKind::add:
    case OpKind::concat:
    case OpKind::rnn:
    case OpKind::softmax_xent:
    case OpKind::layer_norm:
    case OpKind::batched_matmul:
    case OpKind::softmax:
    case OpKind::upsample:
    case OpKind::reshape:
    case OpKind::transpose:
    case OpKind::focal_loss:
      return std::nullopt;
    default:
      return std::string(to_string(op.kind)) + " (op " + op.name + ") is not implemented on the CPU backend";
  }
}

void build_op(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  if (ctx.fusion().fused_away(i)) {  // runs as its producer's post-op: same tensor
    ctx.set_output(i, ctx.output(op.inputs.at(0)));
    return;
  }
  switch (op.kind) {
    case OpKind::input:
    case OpKind::token_input: return;  // made by the first consumer, in its layout
    case OpKind::dense:
      if (op.dtype == DType::int16_dfp) return build_dense_dfp(ctx, i);
      return op.dtype == DType::int8 ? build_dense_int8(ctx, i) : build_dense(ctx, i);
    case OpKind::conv:
      if (op.dtype == DType::int16_dfp) return build_conv_dfp(ctx, i);
      return op.dtype == DType::int8 ? build_conv_int8(ctx, i) : build_conv(ctx, i);
    case OpKind::batch_norm: return build_batch_norm(ctx, i);
    case OpKind::relu:
    case OpKind::tanh:
    case OpKind::gelu: return build_eltwise(ctx, i);
    case OpKind::max_pool:
    case OpKind::avg_pool: return build_pool(ctx, i);
    case OpKind::add: return build_add(ctx, i);
    case OpKind::concat: return build_concat(ctx, i);
    case OpKind::embedding: return build_embedding(ctx, i);
    case OpKind::rnn: return op.dtype == DType::int8 ? build_rnn_int8(ctx, i) : build_rnn(ctx, i);
    case OpKind::softmax_xent: return build_softmax_xent(ctx, i);
    case OpKind::layer_norm: return build_layer_norm(ctx, i);
    case OpKind::batched_matmul: return build_batched_matmul(ctx, i);
    case OpKind::softmax: return build_softmax(ctx, i);
    case OpKind::upsample: return build_upsample(ctx, i);
    case OpKind::reshape: return build_reshape(ctx, i);
    case OpKind::transpose: return build_transpose(ctx, i);
    case OpKind::focal_loss: return build_focal_loss(ctx, i);
    default: throw std::invalid_argument(*unsupported_reason(op));
  }
}

void add_post_backward(Lowering& ctx, int i, const memory& y, const memory& dy) {
  if (ctx.fusion().fused_post(i) == Activation::none) return;
  const dnnl::algorithm alg = eltwise_algorithm(ctx.fusion().fused_post(i), true);
  dnnl::eltwise_forward::primitive_desc hint({dnnl::prop_kind::forward_training, alg, y.get_desc(), 0.f, 0.f},
                                             ctx.engine());
  dnnl::eltwise_backward::primitive_desc pd({alg, dy.get_desc(), y.get_desc(), 0.f, 0.f}, make_attr(), ctx.engine(),
                                            hint);
  ctx.add(i, Phase::bwd, dnnl::eltwise_backward(pd), pd, {{DNNL_ARG_DST, y}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dy}});
}

WeightAndBias add_weight_and_bias(Lowering& ctx, int i, const memory::dims& w_dims, const memory::desc& w_md, float fan_in,
                                  const memory::desc& b_md, std::unordered_map<int, memory>& args) {
  const Op& op = ctx.graph().op(i);
  WeightAndBias wb;
  if (op.shares_params_with >= 0) {  // the owner's weights, in this op's layout
    wb.w = &tied_weight(ctx, i, 0, w_dims);
    if (op.bias) wb.b = &tied_weight(ctx, i, 1, b_md.dims());
    wb.compute = ctx.in_layout(i, false, op.name + ".weight", wb.w->w, w_md);
  } else {
    const memory::desc plain(w_dims, Dt::f32, plain_tag(w_dims.size()));
    wb.w = &ctx.params().add(ctx.engine(), ctx.stream(), i, op.name + ".weight", plain, w_md, std::sqrt(6.0f / fan_in));
    wb.w->views[op.params.at(0).name] = 0;
    if (op.bias) {
      wb.b = &ctx.params().add(ctx.engine(), ctx.stream(), i, op.name + ".bias", b_md, b_md, 0.f, true);
      wb.b->views[op.params.at(1).name] = 0;
    }
    wb.compute = wb.w->w;
  }
  args[DNNL_ARG_WEIGHTS] = wb.compute;
  if (wb.b) args[DNNL_ARG_BIAS] = wb.b->w;
  return wb;
}

void add_weight_gradients(Lowering& ctx, int i, WeightAndBias wb, const dnnl::primitive& p, const dnnl::primitive_desc& pd,
                          const memory& src, const memory& dy) {
  const Op& op = ctx.graph().op(i);
  const Optimizer opt = ctx.graph().optimizer;
  if (op.shares_params_with < 0) {  // the owner keeps the gradient and optimizer state
    ctx.params().train(ctx.engine(), ctx.stream(), *wb.w, pd.diff_weights_desc(), opt);
    if (wb.b) ctx.params().train(ctx.engine(), ctx.stream(), *wb.b, wb.b->w.get_desc(), opt);
  }
  const memory dw = weight_grad_sink(ctx, i, *wb.w, pd.diff_weights_desc());
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
  memory db;
  if (wb.b) {
    db = weight_grad_sink(ctx, i, *wb.b, wb.b->grad.get_desc());
    args[DNNL_ARG_DIFF_BIAS] = db;
  }
  ctx.add(i, Phase::bwd, p, pd, args);
  close_weight_grad(ctx, i, *wb.w, dw, op.name + ".weight.grad");
  if (wb.b) close_weight_grad(ctx, i, *wb.b, db, op.name + ".bias.grad");
}

int64_t pad_right(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad_left) {
  return (out - 1) * stride + kernel - in - pad_left;
}

memory view(const memory& m, const memory::dims& dims, const dnnl::engine& e) {
  return memory(m.get_desc().reshape(dims), e, m.get_data_handle());
}

}  // namespace paradnn::cpu
