// Batch normalization in the producer's layout, with a following ReLU fused
// (fuse_norm_relu: the backward pass reads the ReLU mask from the forward workspace).
// Training normalizes with batch statistics; inference with stored ones (use_global_stats).
#include <cstring>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

NormParams add_norm_params(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const memory::desc c_md({op.out[1]}, Dt::f32, Tag::a);
  ParamStore& ps = ctx.params();
  NormParams np;
  np.gamma = &ps.add(ctx.engine(), ctx.stream(), i, op.name + ".gamma", c_md, c_md, 1.f, true);
  np.beta = &ps.add(ctx.engine(), ctx.stream(), i, op.name + ".beta", c_md, c_md, 0.f, true);
  np.gamma->views[op.params.at(0).name] = 0;
  np.beta->views[op.params.at(1).name] = 0;
  // Statistics as weights without gradients, so they can be read back and given to another
  // model: training writes each batch's into them, inference normalizes with the stored
  // ones (zero mean, unit variance unless given, e.g. by a model trained on a task).
  np.mean = &ps.add(ctx.engine(), ctx.stream(), i, op.name + ".mean", c_md, c_md, 0.f, true);
  np.var = &ps.add(ctx.engine(), ctx.stream(), i, op.name + ".var", c_md, c_md, 1.f, true);
  np.mean->views[np.mean->name] = 0;
  np.var->views[np.var->name] = 0;
  return np;
}

void build_batch_norm(Lowering& ctx, int i) {
  using dnnl::normalization_flags;
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const memory::desc x_md = ctx.input_desc(i, 0, to_dnnl(op.dtype));
  const int64_t c = op.out[1];
  auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
  if (ctx.fusion().fused_post(i) == Activation::relu) flags |= normalization_flags::fuse_norm_relu;
  const float eps = kNormEpsilon;
  const auto prop = ctx.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto fwd_flags = ctx.training() ? flags : flags | normalization_flags::use_global_stats;
  dnnl::batch_normalization_forward::primitive_desc pd({prop, x_md, eps, fwd_flags}, make_attr(), e);

  memory x = ctx.input(i, 0, x_md);
  memory y = ctx.new_output(i, pd.dst_desc());
  const memory::desc c_md({c}, Dt::f32, Tag::a);
  const NormParams np = add_norm_params(ctx, i);
  Weight &scale = *np.gamma, &shift = *np.beta;
  const memory mean = np.mean->w, var = np.var->w;
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, x},         {DNNL_ARG_DST, y},          {DNNL_ARG_SCALE, scale.w},
                                          {DNNL_ARG_SHIFT, shift.w}, {DNNL_ARG_MEAN, mean},      {DNNL_ARG_VARIANCE, var}};
  memory ws;
  if (ctx.training() && ctx.fusion().fused_post(i) == Activation::relu) {
    ws = ctx.scratch(i, Span::to_backward, pd.workspace_desc());
    args[DNNL_ARG_WORKSPACE] = ws;
  }
  ctx.add(i, Phase::fwd, dnnl::batch_normalization_forward(pd), pd, args);
  if (!ctx.training()) return;

  dnnl::batch_normalization_backward::primitive_desc bd({dnnl::prop_kind::backward, y.get_desc(), x_md, eps, flags},
                                                        make_attr(), e, pd);
  ctx.params().train(e, ctx.stream(), scale, c_md, ctx.graph().optimizer);
  ctx.params().train(e, ctx.stream(), shift, c_md, ctx.graph().optimizer);
  memory dy = ctx.grad(i);
  const bool wanted = ctx.needs_input_grad(i, 0);
  Sink s = wanted ? ctx.sink(i, 0, x_md) : Sink{ctx.scratch(i, Span::backward, x_md), 0, true};
  std::unordered_map<int, memory> bargs = {{DNNL_ARG_SRC, x},           {DNNL_ARG_MEAN, mean},
                                           {DNNL_ARG_VARIANCE, var},     {DNNL_ARG_DIFF_DST, dy},
                                           {DNNL_ARG_SCALE, scale.w},    {DNNL_ARG_SHIFT, shift.w},
                                           {DNNL_ARG_DIFF_SRC, s.mem},
                                           {DNNL_ARG_DIFF_SCALE, scale.grad}, {DNNL_ARG_DIFF_SHIFT, shift.grad}};
  if (ws) bargs[DNNL_ARG_WORKSPACE] = ws;
  ctx.add(i, Phase::bwd, dnnl::batch_normalization_backward(bd), bd, bargs);
  if (wanted) ctx.close(i, s);
}

}  // namespace paradnn::cpu
