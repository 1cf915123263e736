// Dense layers as oneDNN inner products: bias and a following ReLU fused as post-ops;
// weights in the layout the primitive chose, reordered once when the point is prepared.
// A [T, N, K] input runs as one [T*N, K] GEMM; a [N, C, H, W] input keeps its layout
// and the weights take the matching [O, C, H, W] shape.

#include "paradnn/cost.hpp"
#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

namespace {

using dnnl::inner_product_backward_data;
using dnnl::inner_product_backward_weights;
using dnnl::inner_product_forward;

// Gradient in the weights' own layout when the library allows it (so the f32 master is
// the weights themselves), else in the layout it prefers.
inner_product_backward_weights::primitive_desc weights_grad_pd(const memory::desc& src, const memory::desc& w,
                                                               const memory::desc& bias, const memory::desc& dst,
                                                               const dnnl::engine& e,
                                                               const inner_product_forward::primitive_desc& hint) {
  using Wd = inner_product_backward_weights::primitive_desc;
  const memory::desc any(w.dims(), Dt::f32, Tag::any);
  return optimized_or<Wd>([&]() -> Wd { return {{src, w.data_type() == Dt::f32 ? w : any, bias, dst}, make_attr(), e, hint}; },
                          [&]() -> Wd { return {{src, any, bias, dst}, make_attr(), e, hint}; });
}

}  // namespace

memory::dims dense_weight_dims(const Op& op, const Dims& in) {
  const int64_t out = op.out.back();
  if (in.size() == 4) return {out, in[1], in[2], in[3]};
  return {out, dense_gemm_rows(in).features};
}

void build_dense(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dt t = to_dnnl(op.dtype);
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const int64_t out = op.out.back();
  const bool image = in.size() == 4;
  const GemmRows r = dense_gemm_rows(in);
  const memory::dims w_dims = dense_weight_dims(op, in);

  // Flat inputs and outputs are plain, so a [T, N, K] tensor is a [T*N, K] view.
  const memory::desc x_want = image ? memory::desc({in[0], in[1], in[2], in[3]}, t, Tag::any) : plain_desc(in, t);
  const memory::desc x2_md = image ? x_want : x_want.reshape({r.rows, r.features});
  const memory::desc y2_md({r.rows, out}, t, Tag::ab);
  const memory::desc w_any(w_dims, t, Tag::any);
  const memory::desc b_md = op.bias ? memory::desc({out}, Dt::f32, Tag::a) : memory::desc();
  const auto prop = ctx.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  inner_product_forward::primitive_desc pd({prop, x2_md, w_any, b_md, y2_md}, make_attr(ctx.fusion().fused_post(i)), e);

  memory x = ctx.input(i, 0, image ? pd.src_desc() : x_want);
  memory x2 = image ? x : view(x, {r.rows, r.features}, e);
  memory y = ctx.new_output(i, plain_desc(op.out, t));
  memory y2 = view(y, {r.rows, out}, e);

  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, x2}, {DNNL_ARG_DST, y2}};
  const WeightAndBias wb = add_weight_and_bias(ctx, i, w_dims, pd.weights_desc(), static_cast<float>(r.features), b_md, args);
  ctx.add(i, Phase::fwd, inner_product_forward(pd), pd, args);
  if (!ctx.training()) return;

  memory dy = ctx.grad(i);
  memory dy2 = view(dy, {r.rows, out}, e);
  add_post_backward(ctx, i, y2, dy2);
  if (ctx.needs_input_grad(i, 0)) {
    // Backward data in the forward weights' layout where the library allows it.
    using Bd = inner_product_backward_data::primitive_desc;
    auto bd = optimized_or<Bd>([&]() -> Bd { return {{pd.src_desc(), pd.weights_desc(), y2_md}, make_attr(), e, pd}; },
                               [&]() -> Bd { return {{pd.src_desc(), w_any, y2_md}, make_attr(), e, pd}; });
    // The library may want another weights layout backward: a visible reorder per step.
    const memory wd = ctx.in_layout(i, true, op.name + ".weight", wb.compute, bd.weights_desc());
    const memory::desc dx_md = image ? pd.src_desc() : x_want;
    Sink s = ctx.sink(i, 0, dx_md);
    memory dx2 = image ? s.mem : view(s.mem, {r.rows, r.features}, e);
    ctx.add(i, Phase::bwd, inner_product_backward_data(bd), bd,
            {{DNNL_ARG_DIFF_DST, dy2}, {DNNL_ARG_WEIGHTS, wd}, {DNNL_ARG_DIFF_SRC, dx2}});
    ctx.close(i, s);
  }
  auto wd = weights_grad_pd(pd.src_desc(), pd.weights_desc(), b_md, y2_md, e, pd);
  add_weight_gradients(ctx, i, wb, inner_product_backward_weights(wd), wd, x2, dy2);
}

}  // namespace paradnn::cpu
