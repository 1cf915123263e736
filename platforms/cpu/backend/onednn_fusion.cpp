#include "platforms/cpu/backend/onednn_fusion.hpp"

namespace paradnn::cpu {

namespace {

bool fusable_producer(const Op& p) {
  return p.kind == OpKind::dense || p.kind == OpKind::conv || p.kind == OpKind::batch_norm ||
         (p.kind == OpKind::add && p.inputs.size() == 2);
}

}  // namespace

FusionPlan::FusionPlan(const Graph& g, Mode m, bool fuse) {
  const size_t n = g.ops.size();
  post_.assign(n, Activation::none);
  fused_away_.assign(n, false);
  alias_of_.assign(n, -1);
  folded_norm_.assign(n, -1);
  if (!fuse) return;

  const std::vector<int> consumers = g.consumer_counts();
  // As IntelCaffe's int8 inference does: the norm runs no call of its own.
  for (size_t i = 0; i < n; ++i) {
    const Op& op = g.ops[i];
    if (m == Mode::train || op.kind != OpKind::batch_norm) continue;
    const int p = op.inputs.at(0);
    if (g.op(p).kind != OpKind::conv || g.op(p).dtype != DType::int8 || consumers[static_cast<size_t>(p)] != 1) continue;
    folded_norm_[static_cast<size_t>(p)] = static_cast<int>(i);
    fused_away_[i] = true;
    alias_of_[i] = p;
  }
  // A ReLU after a folded norm runs as the conv's post-op.
  for (size_t i = 0; i < n; ++i) {
    const Op& op = g.ops[i];
    if (op.kind != OpKind::relu) continue;
    const int p = op.inputs.at(0);
    const Op& prod = g.op(p);
    if (consumers[static_cast<size_t>(p)] != 1 || !fusable_producer(prod) || prod.dtype != op.dtype) continue;
    post_[static_cast<size_t>(canonical(p))] = Activation::relu;
    fused_away_[i] = true;
    alias_of_[i] = p;
  }
}

int FusionPlan::canonical(int t) const {
  while (alias_of_[static_cast<size_t>(t)] >= 0) t = alias_of_[static_cast<size_t>(t)];
  return t;
}

}  // namespace paradnn::cpu
