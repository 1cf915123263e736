// relu and tanh through cuDNN's activation primitives; GELU as a kernel (cuDNN's legacy
// activation API has none). Also the fused post-op helper the weighted ops share.
#include "paradnn/error.hpp"
#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

const float kOne = 1.0f, kZero = 0.0f;

class Activation final : public CudaOp {
 public:
  explicit Activation(const OpArgs& a) : a_(a), desc_(flat_desc(a.y.type, a.y.dims)) {
    if (a.op.kind != OpKind::gelu) act_ = activation_desc(a.op.kind == OpKind::relu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_TANH);
  }
  void forward() override {
    const Tensor& x = a_.x[0];
    if (a_.op.kind == OpKind::gelu) return gelu_forward(x.type, x.data, a_.y.data, x.count(), a_.ctx.stream);
    PARADNN_CUDA(cudnnActivationForward(a_.ctx.dnn, act_, &kOne, desc_, x.data, &kZero, desc_, a_.y.data));
  }
  void backward() override {
    const GradOut& dx = a_.dx[0];
    if (!dx.t.data) return;
    const Tensor& x = a_.x[0];
    if (a_.op.kind == OpKind::gelu)
      return gelu_backward(x.type, x.data, a_.dy.data, dx.t.data, x.count(), dx.beta, a_.ctx.stream);
    PARADNN_CUDA(cudnnActivationBackward(a_.ctx.dnn, act_, &kOne, desc_, a_.y.data, desc_, a_.dy.data, desc_, x.data,
                                         &dx.beta, desc_, dx.t.data));
  }
  std::string impl() const override {
    return a_.op.kind == OpKind::gelu ? "gelu kernel" : "cudnnActivation " + std::string(to_string(a_.op.kind));
  }

 private:
  OpArgs a_;
  TensorDesc desc_;
  ActDesc act_;
};

}  // namespace

std::unique_ptr<CudaOp> make_activation(const OpArgs& a) { return std::make_unique<Activation>(a); }

PostActivation::PostActivation(const OpArgs& a)
    : dnn_(a.ctx.dnn), y_(a.y), dy_(a.dy), desc_(flat_desc(a.y.type, a.y.dims)) {
  switch (a.op.post) {
    case paradnn::Activation::none: return;
    case paradnn::Activation::relu: mode_ = CUDNN_ACTIVATION_RELU; break;
    case paradnn::Activation::tanh: mode_ = CUDNN_ACTIVATION_TANH; break;
    case paradnn::Activation::gelu: throw Unsupported(a.op.name + ": a fused GELU post-op is not run by the cuda backend");
  }
  act_ = activation_desc(*mode_);
}

// In place: cuDNN's activation allows y == x, and for relu and tanh the output alone
// determines the gradient, so y stands in for the input in backward.
void PostActivation::forward() const {
  if (!mode_) return;
  PARADNN_CUDA(cudnnActivationForward(dnn_, act_, &kOne, desc_, y_.data, &kZero, desc_, y_.data));
}

void PostActivation::backward() const {
  if (!mode_) return;
  PARADNN_CUDA(cudnnActivationBackward(dnn_, act_, &kOne, desc_, y_.data, desc_, dy_.data, desc_, y_.data, &kZero, desc_,
                                       dy_.data));
}

}  // namespace paradnn::cuda
