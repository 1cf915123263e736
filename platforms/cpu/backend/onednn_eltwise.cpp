// Activations that could not be fused into their producer (their input feeds other ops
// too, or the producer has no post-ops), as oneDNN eltwise primitives in the input's layout.
#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

void build_eltwise(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Activation a = op.kind == OpKind::relu ? Activation::relu : op.kind == OpKind::tanh ? Activation::tanh : Activation::gelu;
  const bool use_dst = a != Activation::gelu;  // backward from the output: no copy of x kept
  const dnnl::algorithm alg = eltwise_algorithm(a, use_dst && ctx.training());
  const memory::desc x_md = ctx.input_desc(i, 0, to_dnnl(op.dtype));
  const auto prop = ctx.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::eltwise_forward::primitive_desc pd({prop, alg, x_md, 0.f, 0.f}, make_attr(), e);
  memory x = ctx.input(i, 0, x_md);
  memory y = ctx.new_output(i, pd.dst_desc());
  ctx.add(i, Phase::fwd, dnnl::eltwise_forward(pd), pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
  if (!ctx.needs_input_grad(i, 0)) return;

  dnnl::eltwise_backward::primitive_desc bd({alg, y.get_desc(), x_md, 0.f, 0.f}, make_attr(), e, pd);
  memory dy = ctx.grad(i);
  Sink s = ctx.sink(i, 0, x_md);
  ctx.add(i, Phase::bwd, dnnl::eltwise_backward(bd), bd,
          {{use_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, use_dst ? y : x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, s.mem}});
  ctx.close(i, s);
}

}  // namespace paradnn::cpu
