// Residual adds and channel concatenations. An add of two tensors is one binary primitive
// (with a following ReLU fused); more inputs use a sum primitive. Backward hands the output
// gradient to every input (an add) or a channel slice of it to each input (a concat).
#include <numeric>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

void build_add(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const memory::desc md0 = ctx.input_desc(i, 0, to_dnnl(op.dtype));
  std::vector<memory> xs;
  for (int s = 0; s < static_cast<int>(op.inputs.size()); ++s) xs.push_back(ctx.input(i, s, md0));  // one layout
  const memory::desc y_any(md0.dims(), md0.data_type(), Tag::any);
  memory y;
  if (xs.size() == 2) {
    dnnl::binary::primitive_desc pd({dnnl::algorithm::binary_add, md0, md0, y_any}, make_attr(ctx.fusion().fused_post(i)), e);
    y = ctx.new_output(i, pd.dst_desc());
    ctx.add(i, Phase::fwd, dnnl::binary(pd), pd, {{DNNL_ARG_SRC_0, xs[0]}, {DNNL_ARG_SRC_1, xs[1]}, {DNNL_ARG_DST, y}});
  } else {
    const std::vector<float> scales(xs.size(), 1.f);
    const std::vector<memory::desc> mds(xs.size(), md0);
    dnnl::sum::primitive_desc pd(md0, scales, mds, e, make_attr());
    y = ctx.new_output(i, pd.dst_desc());
    std::unordered_map<int, memory> args = {{DNNL_ARG_DST, y}};
    for (size_t s = 0; s < xs.size(); ++s) args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(s)] = xs[s];
    ctx.add(i, Phase::fwd, dnnl::sum(pd), pd, args);
  }
  if (!ctx.training()) return;
  memory dy = ctx.grad(i);
  add_post_backward(ctx, i, y, dy);
  for (int s = 0; s < static_cast<int>(op.inputs.size()); ++s)
    if (ctx.needs_input_grad(i, s)) ctx.close(i, Sink{dy, s, false});  // copy or accumulate dy
}

void build_concat(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dt t = to_dnnl(op.dtype);
  std::vector<memory::desc> mds;
  std::vector<memory> xs;
  for (int s = 0; s < static_cast<int>(op.inputs.size()); ++s) {
    mds.push_back(ctx.input_desc(i, s, t));
    xs.push_back(ctx.input(i, s, mds.back()));
  }
  const memory::desc y_any(memory::dims(op.out.begin(), op.out.end()), t, Tag::any);
  dnnl::concat::primitive_desc pd(y_any, 1, mds, e, make_attr());
  memory y = ctx.new_output(i, pd.dst_desc());
  std::unordered_map<int, memory> args = {{DNNL_ARG_DST, y}};
  for (size_t s = 0; s < xs.size(); ++s) args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(s)] = xs[s];
  ctx.add(i, Phase::fwd, dnnl::concat(pd), pd, args);
  if (!ctx.training()) return;

  // Slices of a blocked gradient need not fall on block boundaries: slice a plain copy.
  memory dy = ctx.grad_as(i, plain_desc(op.out, t));
  int64_t offset = 0;
  for (int s = 0; s < static_cast<int>(op.inputs.size()); ++s) {
    const memory::dims d = mds[static_cast<size_t>(s)].dims();
    if (ctx.needs_input_grad(i, s)) {
      memory::dims offsets(d.size(), 0);
      offsets[1] = offset;
      memory slice(dy.get_desc().submemory_desc(d, offsets), e, dy.get_data_handle());
      ctx.close(i, Sink{slice, s, false});
    }
    offset += d[1];
  }
}

}  // namespace paradnn::cpu
