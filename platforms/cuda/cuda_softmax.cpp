// Softmax over the last dim (attention probabilities). `causal` masks future positions of
// each [M, N] score matrix: row i keeps columns j <= i, the rest are exactly 0, as the CPU
// backend's -inf mask gives. Without a mask, cuDNN's softmax; with one, a row kernel.
// Backward needs only the output: dx = y * (dy - sum(dy * y)), 0 where y was masked.
#include "platforms/cuda/cuda_op.hpp"
#include "platforms/cuda/cuda_real_kernels.hpp"

namespace paradnn::cuda {

namespace {

const float kOne = 1.0f, kZero = 0.0f;

class Softmax final : public CudaOp {
 public:
  explicit Softmax(const OpArgs& a) : a_(a) {
    const Dims& in = a.x[0].dims;
    cols_ = in.back();
    rows_ = elements(in) / cols_;
    if (a.op.causal) {
      if (in.size() < 2) throw std::invalid_argument(a.op.name + ": a causal softmax needs [.., M, N] scores");
      causal_m_ = in[in.size() - 2];
    } else {
      desc_ = flat_desc(a.x[0].type, Dims{rows_, cols_});
    }
  }
  void forward() override {
    const Tensor& x = a_.x[0];
    if (causal_m_) return softmax_forward(x.type, x.data, a_.y.data, rows_, cols_, causal_m_, a_.ctx.stream);
    PARADNN_CUDA(cudnnSoftmaxForward(a_.ctx.dnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE, &kOne, desc_, x.data,
                                     &kZero, desc_, a_.y.data));
  }
  void backward() override {
    const GradOut& dx = a_.dx[0];
    if (!dx.t.data) return;
    if (causal_m_) return softmax_backward(dx.t.type, a_.y.data, a_.dy.data, dx.t.data, rows_, cols_, dx.beta, a_.ctx.stream);
    PARADNN_CUDA(cudnnSoftmaxBackward(a_.ctx.dnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE, &kOne, desc_, a_.y.data,
                                      desc_, a_.dy.data, &dx.beta, desc_, dx.t.data));
  }
  std::string impl() const override { return causal_m_ ? "causal softmax kernel" : "cudnnSoftmax accurate"; }

 private:
  OpArgs a_;
  int64_t rows_ = 0, cols_ = 0, causal_m_ = 0;
  TensorDesc desc_;
};

}  // namespace

std::unique_ptr<CudaOp> make_softmax(const OpArgs& a) { return std::make_unique<Softmax>(a); }

}  // namespace paradnn::cuda
