// Max and average pooling through cuDNN (average excludes padding; global pooling has none).
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

const float kOne = 1.0f, kZero = 0.0f;

class Pool final : public CudaOp {
 public:
  explicit Pool(const OpArgs& a)
      : a_(a), x_desc_(nchw_desc(a.y.type, a.x[0].dims)), y_desc_(nchw_desc(a.y.type, a.y.dims)) {
    const int k = static_cast<int>(a.op.kernel), pad = static_cast<int>(a.op.pad), stride = static_cast<int>(a.op.stride);
    mode_ = a.op.kind == OpKind::max_pool ? CUDNN_POOLING_MAX : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    PARADNN_CUDA(cudnnSetPooling2dDescriptor(pool_desc_, mode_, CUDNN_NOT_PROPAGATE_NAN, k, k, pad, pad, stride, stride));
  }

  void forward() override {
    PARADNN_CUDA(cudnnPoolingForward(a_.ctx.dnn, pool_desc_, &kOne, x_desc_, a_.x[0].data, &kZero, y_desc_, a_.y.data));
  }

  void backward() override {
    const GradOut& dx = a_.dx[0];
    if (!dx.t.data) return;
    PARADNN_CUDA(cudnnPoolingBackward(a_.ctx.dnn, pool_desc_, &kOne, y_desc_, a_.y.data, y_desc_, a_.dy.data, x_desc_,
                                      a_.x[0].data, &dx.beta, x_desc_, dx.t.data));
  }

  std::string impl() const override { return mode_ == CUDNN_POOLING_MAX ? "cudnnPooling max" : "cudnnPooling average"; }

 private:
  OpArgs a_;
  TensorDesc x_desc_, y_desc_;
  PoolDesc pool_desc_;
  cudnnPoolingMode_t mode_ = CUDNN_POOLING_MAX;
};

}  // namespace

std::unique_ptr<CudaOp> make_pool(const OpArgs& a) { return std::make_unique<Pool>(a); }

}  // namespace paradnn::cuda
