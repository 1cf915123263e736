// The attention ops of the transformer, on plain [B, M, K] tensors:
// - batched_matmul: one oneDNN matmul over the batch; B^T (transpose_b) is the stored
//   [B, N, K] tensor read through a strided [B, K, N] descriptor (acb), no copy. Backward
//   is two matmuls, dA = dC B^T and dB = A^T dC (or dC^T A for transpose_b), again with
//   the transposes as strided descriptors.
// - softmax over the last dim (oneDNN softmax_v2). `causal` masks future positions: a
//   [1, M, N] mask of 0 (j <= i) and -inf (j > i), made when the point is prepared, is
//   added by a broadcasting binary primitive into a scratch copy of the scores before the
//   softmax, so masked probabilities are exactly 0. Backward needs only the output, and
//   the mask passes the gradient through unchanged (it is 0 where the mask is -inf).
// - layer_norm over the last dim (oneDNN layer_normalization with use_scale|use_shift);
//   gamma (1) and beta (0) are parameters as in batch norm; the forward keeps mean and
//   variance for backward.
#include <cmath>
#include <limits>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

namespace {

// A plain [B, R, C] tensor seen as its transpose [B, C, R] (same bytes).
memory::desc transposed(const memory::desc& md) {
  const memory::dims d = md.dims();
  return memory::desc({d[0], d[2], d[1]}, md.data_type(), Tag::acb);
}

void add_matmul(Lowering& ctx, int i, Phase phase, const memory& a, const memory& b, const memory& c) {
  dnnl::matmul::primitive_desc pd({a.get_desc(), b.get_desc(), c.get_desc()}, make_attr(), ctx.engine());
  ctx.add(i, phase, dnnl::matmul(pd), pd, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
}

}  // namespace

void build_batched_matmul(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dt t = to_dnnl(op.dtype);
  const Dims& da = ctx.graph().dims_of(op.inputs.at(0));
  const Dims& db = ctx.graph().dims_of(op.inputs.at(1));
  memory a = ctx.input(i, 0, plain_desc(da, t));
  memory b = ctx.input(i, 1, plain_desc(db, t));
  memory c = ctx.new_output(i, plain_desc(op.out, t));
  // The weights operand as [B, K, N].
  auto as_kn = [&](const memory& m) { return op.transpose_b ? memory(transposed(m.get_desc()), e, m.get_data_handle()) : m; };
  add_matmul(ctx, i, Phase::fwd, a, as_kn(b), c);
  if (!ctx.training()) return;

  const memory dc = ctx.grad_as(i, plain_desc(op.out, t));
  const memory dc_t(transposed(dc.get_desc()), e, dc.get_data_handle());
  if (ctx.needs_input_grad(i, 0)) {  // dA [B, M, K] = dC [B, M, N] x (B as [B, K, N])^T
    const Sink s = ctx.sink(i, 0, plain_desc(da, t));
    const memory b_nk = op.transpose_b ? b : memory(transposed(b.get_desc()), e, b.get_data_handle());
    add_matmul(ctx, i, Phase::bwd, dc, b_nk, s.mem);
    ctx.close(i, s);
  }
  if (ctx.needs_input_grad(i, 1)) {
    const Sink s = ctx.sink(i, 1, plain_desc(db, t));
    const memory a_t(transposed(a.get_desc()), e, a.get_data_handle());
    if (op.transpose_b) add_matmul(ctx, i, Phase::bwd, dc_t, a, s.mem);  // dB [B, N, K] = dC^T A
    else add_matmul(ctx, i, Phase::bwd, a_t, dc, s.mem);                 // dB [B, K, N] = A^T dC
    ctx.close(i, s);
  }
}

void build_softmax(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const memory::desc md = plain_desc(in, to_dnnl(op.dtype));
  const int axis = static_cast<int>(in.size()) - 1;
  memory x = ctx.input(i, 0, md);
  if (op.causal) {
    if (in.size() < 2) throw std::invalid_argument(op.name + ": a causal softmax needs [.., M, N] scores");
    const int64_t rows = in[in.size() - 2], cols = in.back();
    Dims mask_dims(in.size(), 1);
    mask_dims[in.size() - 2] = rows;
    mask_dims.back() = cols;
    std::vector<float> mask(static_cast<size_t>(rows * cols), 0.f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = r + 1; c < cols; ++c) mask[static_cast<size_t>(r * cols + c)] = -std::numeric_limits<float>::infinity();
    memory m(plain_desc(mask_dims, md.data_type()), e);
    write_plain(e, ctx.stream(), m, mask);
    memory masked = ctx.scratch(i, Span::forward, md);
    dnnl::binary::primitive_desc bp({dnnl::algorithm::binary_add, md, m.get_desc(), md}, make_attr(), e);
    ctx.add(i, Phase::fwd, dnnl::binary(bp), bp, {{DNNL_ARG_SRC_0, x}, {DNNL_ARG_SRC_1, m}, {DNNL_ARG_DST, masked}});
    x = masked;
  }
  const auto alg = dnnl::algorithm::softmax_accurate;
  const auto prop = ctx.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::softmax_v2_forward::primitive_desc pd({prop, alg, md, md, axis}, make_attr(), e);
  memory y = ctx.new_output(i, md);
  ctx.add(i, Phase::fwd, dnnl::softmax_v2_forward(pd), pd, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
  if (!ctx.needs_input_grad(i, 0)) return;

  dnnl::softmax_v2_backward::primitive_desc bd({alg, md, md, md, axis}, make_attr(), e, pd);
  const memory dy = ctx.grad(i);
  const Sink s = ctx.sink(i, 0, md);
  ctx.add(i, Phase::bwd, dnnl::softmax_v2_backward(bd), bd, {{DNNL_ARG_DST, y}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, s.mem}});
  ctx.close(i, s);
}

void build_layer_norm(Lowering& ctx, int i) {
  using dnnl::normalization_flags;
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const memory::desc md = plain_desc(in, to_dnnl(op.dtype));
  const auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
  const float eps = 1e-5f;
  const auto prop = ctx.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::layer_normalization_forward::primitive_desc pd({prop, md, eps, flags}, make_attr(), e);

  memory x = ctx.input(i, 0, md);
  memory y = ctx.new_output(i, pd.dst_desc());
  const memory::desc c_md({in.back()}, Dt::f32, Tag::a);
  Weight& scale = ctx.params().add(e, ctx.stream(), i, op.name + ".gamma", c_md, c_md, 1.f, true);
  Weight& shift = ctx.params().add(e, ctx.stream(), i, op.name + ".beta", c_md, c_md, 0.f, true);
  scale.views[op.params.at(0).name] = 0;
  shift.views[op.params.at(1).name] = 0;
  const memory mean = ctx.scratch(i, Span::to_backward, pd.mean_desc());
  const memory var = ctx.scratch(i, Span::to_backward, pd.variance_desc());
  ctx.add(i, Phase::fwd, dnnl::layer_normalization_forward(pd), pd,
          {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}, {DNNL_ARG_SCALE, scale.w}, {DNNL_ARG_SHIFT, shift.w},
           {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, var}});
  if (!ctx.training()) return;

  dnnl::layer_normalization_backward::primitive_desc bd({dnnl::prop_kind::backward, y.get_desc(), md, eps, flags},
                                                        make_attr(), e, pd);
  ctx.params().train(e, ctx.stream(), scale, c_md, ctx.graph().optimizer);
  ctx.params().train(e, ctx.stream(), shift, c_md, ctx.graph().optimizer);
  const memory dy = ctx.grad(i);
  const bool wanted = ctx.needs_input_grad(i, 0);
  const Sink s = wanted ? ctx.sink(i, 0, md) : Sink{ctx.scratch(i, Span::backward, md), 0, true};
  ctx.add(i, Phase::bwd, dnnl::layer_normalization_backward(bd), bd,
          {{DNNL_ARG_SRC, x}, {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, var}, {DNNL_ARG_DIFF_DST, dy},
           {DNNL_ARG_SCALE, scale.w}, {DNNL_ARG_SHIFT, shift.w}, {DNNL_ARG_DIFF_SRC, s.mem},
           {DNNL_ARG_DIFF_SCALE, scale.grad}, {DNNL_ARG_DIFF_SHIFT, shift.grad}});
  if (wanted) ctx.close(i, s);
}

}  // namespace paradnn::cpu
