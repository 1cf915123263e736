#include <stdexcept>

#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

std::unique_ptr<CudaOp> make_op(const OpArgs& a) {
  switch (a.op.kind) {
    case OpKind::dense: return make_dense(a);
    case OpKind::conv: return make_conv(a);
    case OpKind::batch_norm: return make_batch_norm(a);
    case OpKind::max_pool:
    case OpKind::avg_pool: return make_pool(a);
    case OpKind::relu:
    case OpKind::tanh:
    case OpKind::gelu: return make_activation(a);
    case OpKind::add:
    case OpKind::concat: return make_merge(a);
    case OpKind::embedding: return make_embedding(a);
    case OpKind::rnn: return make_rnn(a);
    case OpKind::softmax_xent: return make_softmax_xent(a);
    case OpKind::input:
    case OpKind::token_input: break;  // synthetic data: filled by the executable, no work per step
    default: break;
  }
  throw std::logic_error("cuda: no op implementation for " + std::string(to_string(a.op.kind)));
}

std::optional<std::string> unsupported_reason(const Op& op) {
  switch (op.kind) {
    case OpKind::layer_norm:
    case OpKind::batched_matmul:
    case OpKind::softmax:
    case OpKind::upsample:
    case OpKind::reshape:
    case OpKind::transpose:
    case OpKind::focal_loss:
      return op.name + ": the cuda backend does not implement " + std::string(to_string(op.kind)) + " yet";
    default: break;
  }
  if (op.shares_params_with >= 0) return op.name + ": shared (tied) parameters are not run by the cuda backend yet";
  if (op.post == Activation::gelu) return op.name + ": a fused GELU post-op is not run by the cuda backend";
  return std::nullopt;
}

}  // namespace paradnn::cuda
