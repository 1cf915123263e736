// Max and average pooling (average counts padding, as PyTorch's default does) in the
// layout the library prefers; max pooling keeps its argmax workspace for backward.
#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

void build_pool(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const Dt t = to_dnnl(op.dtype);
  const auto alg = op.kind == OpKind::max_pool ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_include_padding;
  const memory::dims strides = {op.stride, op.stride}, kernel = {op.kernel, op.kernel}, pad_l = {op.pad, op.pad};
  const memory::dims pad_r = {pad_right(in[2], op.out[2], op.kernel, op.stride, op.pad),
                              pad_right(in[3], op.out[3], op.kernel, op.stride, op.pad)};
  const memory::desc x_md = ctx.input_desc(i, 0, t);
  const memory::desc y_any({op.out[0], op.out[1], op.out[2], op.out[3]}, t, Tag::any);
  const auto prop = ctx.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::pooling_forward::primitive_desc pd({prop, alg, x_md, y_any, strides, kernel, pad_l, pad_r}, make_attr(), e);
  memory x = ctx.input(i, 0, x_md);
  memory y = ctx.new_output(i, pd.dst_desc());
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}};
  memory ws;
  if (ctx.training() && op.kind == OpKind::max_pool) {
    ws = ctx.scratch(i, Span::to_backward, pd.workspace_desc());
    args[DNNL_ARG_WORKSPACE] = ws;
  }
  ctx.add(i, Phase::fwd, dnnl::pooling_forward(pd), pd, args);
  if (!ctx.needs_input_grad(i, 0)) return;

  dnnl::pooling_backward::primitive_desc bd({alg, x_md, y.get_desc(), strides, kernel, pad_l, pad_r}, make_attr(), e, pd);
  memory dy = ctx.grad(i);
  Sink s = ctx.sink(i, 0, x_md);
  std::unordered_map<int, memory> bargs = {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, s.mem}};
  if (ws) bargs[DNNL_ARG_WORKSPACE] = ws;
  ctx.add(i, Phase::bwd, dnnl::pooling_backward(bd), bd, bargs);
  ctx.close(i, s);
}

}  // namespace paradnn::cpu
