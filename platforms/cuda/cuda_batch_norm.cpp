// Spatial batch norm through cuDNN: batch statistics in training (saving mean and inverse
// variance for backward), running statistics in inference. Scale, shift and statistics
// are f32 whatever the activation type, as cuDNN requires.
#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

const float kOne = 1.0f, kZero = 0.0f;
constexpr double kEpsilon = 1e-5;     // frameworks' default; must be >= CUDNN_BN_MIN_EPSILON
constexpr double kAverageFactor = 0.1;  // running statistics: new = 0.1 * batch + 0.9 * old

class BatchNorm final : public CudaOp {
 public:
  explicit BatchNorm(const OpArgs& a) : a_(a), post_(a), x_desc_(nchw_desc(a.y.type, a.y.dims)) {
    PARADNN_CUDA(cudnnDeriveBNTensorDescriptor(bn_desc_, x_desc_, CUDNN_BATCHNORM_SPATIAL));
    const size_t c = static_cast<size_t>(a.y.dims.at(1));
    gamma_ = &a.params.add(a.op.params.at(0).name, a.index, c, Storage::f32, Storage::f32, 1.0f, 1.0f, a.ctx.stream);
    beta_ = &a.params.add(a.op.params.at(1).name, a.index, c, Storage::f32, Storage::f32, 0.0f, 0.0f, a.ctx.stream);
    stats_ = DeviceBuffer(4 * c * sizeof(float));  // running mean, running variance, saved mean, saved 1/std
    fill_uniform(Storage::f32, stats_.get(), c, 0.0f, 0.0f, 0, a.ctx.stream);
    fill_uniform(Storage::f32, stat(1), c, 1.0f, 1.0f, 0, a.ctx.stream);
    fill_uniform(Storage::f32, stat(2), 2 * c, 0.0f, 0.0f, 0, a.ctx.stream);
    // cuDNN always writes dx; where the input needs none it goes to a scratch buffer.
    if (a.training() && !a.dx[0].t.data) scratch_ = DeviceBuffer(a.y.count() * size_of(a.y.type));
  }

  void forward() override {
    Context& c = a_.ctx;
    const Tensor& x = a_.x[0];
    if (a_.training())
      PARADNN_CUDA(cudnnBatchNormalizationForwardTraining(c.dnn, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, x_desc_, x.data,
                                                          x_desc_, a_.y.data, bn_desc_, gamma_->master.get(),
                                                          beta_->master.get(), kAverageFactor, stat(0), stat(1), kEpsilon,
                                                          stat(2), stat(3)));
    else
      PARADNN_CUDA(cudnnBatchNormalizationForwardInference(c.dnn, CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, x_desc_, x.data,
                                                           x_desc_, a_.y.data, bn_desc_, gamma_->master.get(),
                                                           beta_->master.get(), stat(0), stat(1), kEpsilon));
    post_.forward();
  }

  void backward() override {
    post_.backward();
    const GradOut& dx = a_.dx[0];
    void* dx_data = dx.t.data ? dx.t.data : scratch_.get();
    const float beta = dx.t.data ? dx.beta : 0.0f;
    PARADNN_CUDA(cudnnBatchNormalizationBackward(a_.ctx.dnn, CUDNN_BATCHNORM_SPATIAL, &kOne, &beta, &kOne, &kZero, x_desc_,
                                                 a_.x[0].data, x_desc_, a_.dy.data, x_desc_, dx_data, bn_desc_,
                                                 gamma_->master.get(), gamma_->grad.get(), beta_->grad.get(), kEpsilon,
                                                 stat(2), stat(3)));
  }

  std::string impl() const override { return "cudnnBatchNormalization spatial"; }

 private:
  float* stat(int i) const { return stats_.as<float>() + size_t(i) * static_cast<size_t>(a_.y.dims.at(1)); }

  OpArgs a_;
  PostActivation post_;
  TensorDesc x_desc_, bn_desc_;
  ParamBlob* gamma_ = nullptr;
  ParamBlob* beta_ = nullptr;
  DeviceBuffer stats_, scratch_;
};

}  // namespace

std::unique_ptr<CudaOp> make_batch_norm(const OpArgs& a) { return std::make_unique<BatchNorm>(a); }

}  // namespace paradnn::cuda
