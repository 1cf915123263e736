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
    case OpKind::layer_norm: return make_layer_norm(a);
    case OpKind::batched_matmul: return make_batched_matmul(a);
    case OpKind::softmax: return make_softmax(a);
    case OpKind::upsample: return make_upsample(a);
    case OpKind::reshape: return make_reshape(a);
    case OpKind::transpose: return make_transpose(a);
    case OpKind::focal_loss: return make_focal_loss(a);
    case OpKind::input:
    case OpKind::token_input: break;  // synthetic data: filled by the executable, no work per step
    default: break;
  }
  throw std::logic_error("cuda: no op implementation for " + std::string(to_string(a.op.kind)));
}

std::optional<std::string> unsupported_reason(const Op& op) {
  if (op.shares_params_with >= 0 && op.kind != OpKind::dense && op.kind != OpKind::conv && op.kind != OpKind::embedding)
    return op.name + ": shared (tied) parameters are implemented for dense, conv and embedding ops only";
  if (op.post == Activation::gelu) return op.name + ": a fused GELU post-op is not run by the cuda backend";
  return std::nullopt;
}

}  // namespace paradnn::cuda
