// Ops that only move data: reshape, transpose and nearest-neighbour upsampling.
// - reshape is a view of a plain tensor (a blocked producer is reordered into a plain buffer
//   of the reshape's own, which lives as long as the view);
//   its output gradient is the same view of the input's gradient where the reshape writes
//   that gradient first, else a plain buffer reordered (or added) into it.
// - transpose is one oneDNN reorder into the output seen through a permuted memory
//   descriptor (memory::desc::permute_axes); backward is the inverse reorder of the gradient.
// - upsample is oneDNN resampling (nearest) forward and backward, in the producer's layout.
#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

void build_reshape(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const Dt t = ctx.input_desc(i, 0, to_dnnl(op.dtype)).data_type();
  const memory::desc plain = plain_desc(in, t), have = ctx.input_desc(i, 0, to_dnnl(op.dtype));
  memory x = ctx.input(i, 0, have);
  if (have != plain) {  // a plain copy of the reshape's own, live as long as the view
    const memory blocked = x;
    x = ctx.new_output(i, plain);
    ctx.add_reorder(i, false, op.name + ".in0", blocked, x);
  }
  ctx.set_output(i, memory(plain_desc(op.out, t), e, x.get_data_handle()));
  if (!ctx.needs_input_grad(i, 0)) return;

  // A view of the input's gradient only where something writes the reshape's: the input's
  // gradient is shared storage that its first writer must overwrite every step.
  if (ctx.grad_written(i) && ctx.grad(op.inputs[0]).get_desc() == plain_desc(in, t)) {
    const Sink s = ctx.sink(i, 0, plain_desc(in, t));
    if (s.direct && ctx.alias_grad(i, memory(plain_desc(op.out, t), e, s.mem.get_data_handle()))) return;
  }
  // The input's gradient is blocked, or other consumers wrote it first: a copy (or sum).
  const memory dy = ctx.grad(i);
  ctx.close(i, Sink{memory(plain_desc(in, dy.get_desc().data_type()), e, dy.get_data_handle()), 0, false});
}

void build_transpose(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const memory::desc x_md = ctx.input_desc(i, 0, to_dnnl(op.dtype));
  memory x = ctx.input(i, 0, x_md);
  memory y = ctx.new_output(i, plain_desc(op.out, x_md.data_type()));
  // y seen with the input's dims: new.dims[perm[k]] = out[k] = in[perm[k]].
  const std::vector<int> perm(op.perm.begin(), op.perm.end());
  ctx.add_reorder(i, false, op.name, x, memory(y.get_desc().permute_axes(perm), e, y.get_data_handle()));
  if (!ctx.needs_input_grad(i, 0)) return;

  const memory dy = ctx.grad(i);
  const Sink s = ctx.sink(i, 0, x_md);
  ctx.add_reorder(i, true, op.name + ".d_in0", memory(dy.get_desc().permute_axes(perm), e, dy.get_data_handle()), s.mem);
  ctx.close(i, s);
}

void build_upsample(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const memory::desc x_md = ctx.input_desc(i, 0, to_dnnl(op.dtype));
  const memory::desc y_any(memory::dims(op.out.begin(), op.out.end()), x_md.data_type(), Tag::any);
  const auto alg = dnnl::algorithm::resampling_nearest;
  const auto prop = ctx.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::resampling_forward::primitive_desc pd({prop, alg, x_md, y_any}, make_attr(), e);
  memory x = ctx.input(i, 0, x_md);
  memory y = ctx.new_output(i, pd.dst_desc());
  ctx.add(i, Phase::fwd, dnnl::resampling_forward(pd), pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
  if (!ctx.needs_input_grad(i, 0)) return;

  dnnl::resampling_backward::primitive_desc bd({alg, x_md, y.get_desc()}, make_attr(), e, pd);
  const memory dy = ctx.grad_as(i, bd.diff_dst_desc());
  const Sink s = ctx.sink(i, 0, x_md);
  ctx.add(i, Phase::bwd, dnnl::resampling_backward(bd), bd, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, s.mem}});
  ctx.close(i, s);
}

}  // namespace paradnn::cpu
