// Ops that only move data: reshape, transpose and nearest-neighbour upsampling.
// - reshape is a view of a plain tensor (a blocked producer is reordered to plain first);
//   its output gradient is the same view of the input's gradient where the reshape writes
//   that gradient first, else a plain buffer reordered (or added) into it.
// - transpose is one oneDNN reorder into the output seen through a permuted memory
//   descriptor (memory::desc::permute_axes); backward is the inverse reorder of the gradient.
// - upsample is oneDNN resampling (nearest) forward and backward, in the producer's layout.
#include "platforms/cpu/onednn_ops.hpp"

namespace paradnn::cpu {

void build_reshape(Net& net, int i) {
  const Op& op = net.graph().op(i);
  const dnnl::engine& e = net.engine();
  const Dims& in = net.graph().dims_of(op.inputs.at(0));
  const Dt t = net.input_desc(i, 0, to_dnnl(op.dtype)).data_type();
  memory x = net.input(i, 0, plain_desc(in, t));
  net.set_output(i, memory(plain_desc(op.out, t), e, x.get_data_handle()));
  if (!net.needs_input_grad(i, 0)) return;

  if (net.grad(op.inputs[0]).get_desc() == plain_desc(in, t)) {
    const Sink s = net.sink(i, 0, plain_desc(in, t));
    if (s.direct && net.alias_grad(i, memory(plain_desc(op.out, t), e, s.mem.get_data_handle()))) return;
  }
  // The input's gradient is blocked, or other consumers wrote it first: a copy (or sum).
  const memory dy = net.grad(i);
  net.close(i, Sink{memory(plain_desc(in, dy.get_desc().data_type()), e, dy.get_data_handle()), 0, false});
}

void build_transpose(Net& net, int i) {
  const Op& op = net.graph().op(i);
  const dnnl::engine& e = net.engine();
  const memory::desc x_md = net.input_desc(i, 0, to_dnnl(op.dtype));
  memory x = net.input(i, 0, x_md);
  memory y = net.new_output(i, plain_desc(op.out, x_md.data_type()));
  // y seen with the input's dims: new.dims[perm[k]] = out[k] = in[perm[k]].
  const std::vector<int> perm(op.perm.begin(), op.perm.end());
  net.add_reorder(i, false, op.name, x, memory(y.get_desc().permute_axes(perm), e, y.get_data_handle()));
  if (!net.needs_input_grad(i, 0)) return;

  const memory dy = net.grad(i);
  const Sink s = net.sink(i, 0, x_md);
  net.add_reorder(i, true, op.name + ".d_in0", memory(dy.get_desc().permute_axes(perm), e, dy.get_data_handle()), s.mem);
  net.close(i, s);
}

void build_upsample(Net& net, int i) {
  const Op& op = net.graph().op(i);
  const dnnl::engine& e = net.engine();
  const memory::desc x_md = net.input_desc(i, 0, to_dnnl(op.dtype));
  const memory::desc y_any(memory::dims(op.out.begin(), op.out.end()), x_md.data_type(), Tag::any);
  const auto alg = dnnl::algorithm::resampling_nearest;
  const auto prop = net.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::resampling_forward::primitive_desc pd({prop, alg, x_md, y_any}, make_attr(), e);
  memory x = net.input(i, 0, x_md);
  memory y = net.new_output(i, pd.dst_desc());
  net.add(i, "fwd", dnnl::resampling_forward(pd), pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
  if (!net.needs_input_grad(i, 0)) return;

  dnnl::resampling_backward::primitive_desc bd({alg, x_md, y.get_desc()}, make_attr(), e, pd);
  const memory dy = net.grad_as(i, bd.diff_dst_desc());
  const Sink s = net.sink(i, 0, x_md);
  net.add(i, "bwd", dnnl::resampling_backward(bd), bd, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, s.mem}});
  net.close(i, s);
}

}  // namespace paradnn::cpu
