// Tied parameters (Op::shares_params_with): an op using another op's weights computes with
// the owner's blobs and adds its weight gradients into the owner's gradient buffers, so
// shared weights are stored and updated once (as the CPU backend does). Backward runs in
// reverse graph order: the last user of a blob writes its gradient first, the rest add.
#include <stdexcept>

#include "paradnn/error.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

ParamBlob& param_blob(const OpArgs& a, size_t k, size_t n, Storage weight_type, Storage grad_type, float lo, float hi) {
  const std::string& name = a.op.params.at(k).name;
  const int owner = a.op.shares_params_with;
  if (owner < 0) return a.params.add(name, a.index, n, weight_type, grad_type, lo, hi, a.ctx.stream);
  const Op& o = a.graph.op(owner);
  if (owner >= a.index) throw std::invalid_argument(a.op.name + ": shares the parameters of a later op (" + o.name + ")");
  const ParamView& v = a.params.view(o.params.at(k).name);
  ParamBlob& b = *a.params.blobs().at(v.blob);
  if (b.n != n || b.weight_type != weight_type || b.grad_type != grad_type)
    throw Unsupported(a.op.name + ": its parameter " + name + " differs in size or type from " + o.name + "'s");
  a.params.add_view(name, v);
  return b;
}

float weight_grad_beta(const OpArgs& a) {
  const int owner = a.op.shares_params_with >= 0 ? a.op.shares_params_with : a.index;
  for (size_t j = static_cast<size_t>(a.index) + 1; j < a.graph.ops.size(); ++j)
    if (a.graph.ops[j].shares_params_with == owner) return 1.0f;
  return 0.0f;
}

}  // namespace paradnn::cuda
