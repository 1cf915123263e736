// The loss: log-softmax as a oneDNN primitive over f32 logits, then cross-entropy against
// seeded random labels and its gradient (softmax - onehot) / rows in one pass, written
// straight into the logits' gradient.
#include <cmath>
#include <random>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

void build_softmax_xent(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const int64_t classes = in.back(), rows = elements(in) / classes;
  const memory::desc logits_md = plain_desc(in, Dt::f32);
  memory x = ctx.input(i, 0, logits_md);
  const memory::desc md2({rows, classes}, Dt::f32, Tag::ab);
  const auto prop = ctx.training() ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::softmax_v2_forward::primitive_desc pd({prop, dnnl::algorithm::softmax_log, md2, md2, 1}, make_attr(), e);
  memory logp = ctx.scratch(i, Span::to_backward, md2);  // read back by the gradient
  ctx.add(i, Phase::fwd, dnnl::softmax_v2_forward(pd), pd, {{DNNL_ARG_SRC, view(x, {rows, classes}, e)}, {DNNL_ARG_DST, logp}});
  memory loss = ctx.new_output(i, memory::desc({1}, Dt::f32, Tag::a));

  ctx.labels().resize(static_cast<size_t>(rows));
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> u(0, static_cast<int32_t>(classes - 1));
  for (int32_t& l : ctx.labels()) l = u(rng);
  const int32_t* label = ctx.labels().data();
  const float* lp = static_cast<const float*>(logp.get_data_handle());
  float* out = static_cast<float*>(loss.get_data_handle());
  double* mean = &ctx.loss();
  ctx.add_kernel(i, Phase::fwd, "paradnn:xent", [=] {
    double sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (int64_t r = 0; r < rows; ++r) sum -= lp[r * classes + label[r]];
    *mean = sum / static_cast<double>(rows);
    *out = static_cast<float>(*mean);
  }, {logp, loss});
  if (!ctx.needs_input_grad(i, 0)) return;

  Sink s = ctx.sink(i, 0, logits_md);
  float* dx = static_cast<float*>(s.mem.get_data_handle());
  ctx.add_kernel(i, Phase::bwd, "paradnn:xent_grad", [=] {
    const float scale = 1.0f / static_cast<float>(rows);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const float* p = lp + r * classes;
      float* d = dx + r * classes;
#pragma omp simd
      for (int64_t k = 0; k < classes; ++k) d[k] = std::exp(p[k]) * scale;
      d[label[r]] -= scale;
    }
  }, {logp, s.mem});
  ctx.close(i, s);
}

}  // namespace paradnn::cpu
