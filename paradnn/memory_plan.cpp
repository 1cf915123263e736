#include "paradnn/memory_plan.hpp"

#include <algorithm>

namespace paradnn {

bool backward_reads_inputs(OpKind k) {
  switch (k) {
    case OpKind::dense:           // backward-weights: x^T dy
    case OpKind::conv:            // backward-weights
    case OpKind::batch_norm:      // normalizes x again
    case OpKind::gelu:            // derivative at x
    case OpKind::rnn:             // the source layer
    case OpKind::layer_norm:      // normalizes x again
    case OpKind::batched_matmul:  // dA = dC B^T, dB = A^T dC
    case OpKind::focal_loss:      // the gradient at the logits
    case OpKind::embedding:       // the token ids
      return true;
    default:  // adds, concats, pools (a max pool keeps its argmax), reshapes, transposes, upsampling, the xent loss
      return false;
  }
}

bool backward_reads_output(OpKind k) {
  return k == OpKind::relu || k == OpKind::tanh || k == OpKind::softmax || k == OpKind::rnn;
}

std::vector<bool> tensors_needing_gradients(const Graph& g) {
  std::vector<bool> needs(g.ops.size(), false);
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    if (op.kind == OpKind::input || op.kind == OpKind::token_input) continue;
    bool any = !op.params.empty() || op.shares_params_with >= 0;
    for (int x : op.inputs) any = any || needs[static_cast<size_t>(x)];
    needs[i] = any;
  }
  return needs;
}

TensorLifetimes tensor_lifetimes(const Graph& g, Mode m, const std::vector<int>& holder) {
  const int n = static_cast<int>(g.ops.size());
  const StepTimeline time(n, m);
  TensorLifetimes life;
  life.output.resize(static_cast<size_t>(n));
  std::vector<int> last_forward_read(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    life.output[static_cast<size_t>(i)] = {i, i};
    last_forward_read[static_cast<size_t>(i)] = i;
  }
  auto extend = [](int& hi, int to) { hi = std::max(hi, to); };
  // Consumers come later than producers: one sweep from the end sees every reader first.
  for (int i = n - 1; i >= 0; --i) {
    const Op& op = g.op(i);
    const int h = holder[static_cast<size_t>(i)];
    // A fused op's backward runs in its producer's backward calls.
    if (time.training() && backward_reads_output(op.kind)) extend(life.output[static_cast<size_t>(h)].hi, time.bwd(h));
    if (h != i) continue;  // fused: its reads are its holder's
    const bool view = op.kind == OpKind::reshape;
    const int forward_reach = view ? last_forward_read[static_cast<size_t>(i)] : i;
    int reach = view ? life.output[static_cast<size_t>(i)].hi : i;
    if (time.training() && backward_reads_inputs(op.kind)) extend(reach, time.bwd(i));
    for (int x : op.inputs) {
      const size_t hx = static_cast<size_t>(holder[static_cast<size_t>(x)]);
      extend(last_forward_read[hx], forward_reach);
      extend(life.output[hx].hi, reach);
    }
  }
  life.gradient.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    life.gradient[static_cast<size_t>(i)] = {time.bwd(last_forward_read[static_cast<size_t>(i)]), time.bwd(i)};
  return life;
}

}  // namespace paradnn
