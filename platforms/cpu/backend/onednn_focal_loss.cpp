// RetinaNet's sigmoid focal loss (Lin et al. 2017, eq. 5; gamma 2, alpha 0.25) over f32
// logits [N, anchors, K], summed over the K columns and averaged over the N x anchors rows.
// oneDNN has no such primitive: the forward (loss) and backward (gradient, written
// straight into the logits' gradient) are OpenMP loops. Targets are synthetic data, as
// anchor matching happens outside the timed step: seeded random 0/1, each logit positive
// with probability 1/8, kept in Net::labels (one per logit).
//
// With p = sigmoid(x), for target 1: loss = -alpha (1-p)^2 log p and
//   d loss/dx = alpha (1-p)^2 (2 p log p - (1-p));
// for target 0: loss = -(1-alpha) p^2 log(1-p) and
//   d loss/dx = (1-alpha) p^2 (p - 2 (1-p) log(1-p)).
// log p and log(1-p) are computed as log-sigmoids, finite for any logit.
#include <cmath>
#include <random>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

namespace {

constexpr float kAlpha = 0.25f;  // gamma is 2: the squares below

inline float log_sigmoid(float x) { return std::fmin(x, 0.f) - std::log1p(std::exp(-std::fabs(x))); }

}  // namespace

void build_focal_loss(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const int64_t n = elements(in), rows = n / in.back();
  const memory::desc logits_md = plain_desc(in, Dt::f32);
  memory x = ctx.input(i, 0, logits_md);
  memory loss = ctx.new_output(i, memory::desc({1}, Dt::f32, Tag::a));

  ctx.labels().resize(static_cast<size_t>(n));
  std::mt19937 rng(5);
  std::bernoulli_distribution positive(1.0 / 8);
  for (int32_t& l : ctx.labels()) l = positive(rng) ? 1 : 0;
  const int32_t* target = ctx.labels().data();
  const float* logit = static_cast<const float*>(x.get_data_handle());
  float* out = static_cast<float*>(loss.get_data_handle());
  double* mean = &ctx.loss();
  ctx.add_kernel(i, Phase::fwd, "paradnn:focal_loss", [=] {
    double sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (int64_t k = 0; k < n; ++k) {
      const float z = logit[k];
      const float p = 1.f / (1.f + std::exp(-z));
      sum -= target[k] ? kAlpha * (1 - p) * (1 - p) * log_sigmoid(z) : (1 - kAlpha) * p * p * log_sigmoid(-z);
    }
    *mean = sum / static_cast<double>(rows);
    *out = static_cast<float>(*mean);
  }, {x, loss});
  if (!ctx.needs_input_grad(i, 0)) return;

  const Sink s = ctx.sink(i, 0, logits_md);
  float* dx = static_cast<float*>(s.mem.get_data_handle());
  ctx.add_kernel(i, Phase::bwd, "paradnn:focal_loss_grad", [=] {
    const float scale = 1.0f / static_cast<float>(rows);
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < n; ++k) {
      const float z = logit[k];
      const float p = 1.f / (1.f + std::exp(-z));
      const float g = target[k] ? kAlpha * (1 - p) * (1 - p) * (2 * p * log_sigmoid(z) - (1 - p))
                                : (1 - kAlpha) * p * p * (p - 2 * (1 - p) * log_sigmoid(-z));
      dx[k] = g * scale;
    }
  }, {x, s.mem});
  ctx.close(i, s);
}

}  // namespace paradnn::cpu
