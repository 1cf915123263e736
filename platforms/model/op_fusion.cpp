#include "platforms/model/op_fusion.hpp"

namespace paradnn::model {

bool is_fusible(OpKind k) {
  return k == OpKind::relu || k == OpKind::tanh || k == OpKind::gelu || k == OpKind::add || k == OpKind::batch_norm;
}

std::vector<int> fusion_leaders(const Graph& g) {
  std::vector<int> leader(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    leader[i] = static_cast<int>(i);
    if (!is_fusible(op.kind) || op.inputs.empty()) continue;
    const OpKind producer = g.op(op.inputs[0]).kind;
    if (producer == OpKind::input || producer == OpKind::token_input || producer == OpKind::reshape) continue;
    leader[i] = leader[static_cast<size_t>(op.inputs[0])];
  }
  return leader;
}

namespace {
double output_bytes(const Op& op) { return static_cast<double>(elements(op.out)) * static_cast<double>(size_of(op.dtype)); }
}  // namespace

double fused_op_bytes(const Op& op) {
  return op.kind == OpKind::add ? (static_cast<double>(op.inputs.size()) - 1) * output_bytes(op) : 0;
}

double reduction_pass_bytes(const Op& op, Mode m, bool backward) {
  if (op.kind != OpKind::batch_norm || m != Mode::train) return 0;
  return (backward ? 2 : 1) * output_bytes(op);
}

}  // namespace paradnn::model
