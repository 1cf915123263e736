// Layer norm over the last dim with f32 gamma (1) and beta (0), as the CPU backend's
// oneDNN layer_normalization (eps 1e-5, biased variance). Row kernels: the forward keeps
// each row's mean and 1/std for backward; the parameter gradients are column sums.
#include "platforms/cuda/cuda_op.hpp"
#include "platforms/cuda/cuda_real_kernels.hpp"

namespace paradnn::cuda {

namespace {

constexpr float kEps = 1e-5f;

class LayerNorm final : public CudaOp {
 public:
  explicit LayerNorm(const OpArgs& a) : a_(a) {
    cols_ = a.x[0].dims.back();
    rows_ = static_cast<int64_t>(a.x[0].count()) / cols_;
    const size_t c = static_cast<size_t>(cols_);
    gamma_ = &a.params.add(a.op.params.at(0).name, a.index, c, Storage::f32, Storage::f32, 1.0f, 1.0f, a.ctx.stream);
    beta_ = &a.params.add(a.op.params.at(1).name, a.index, c, Storage::f32, Storage::f32, 0.0f, 0.0f, a.ctx.stream);
    if (a.training()) {
      mean_ = DeviceBuffer(size_t(rows_) * sizeof(float));
      rstd_ = DeviceBuffer(size_t(rows_) * sizeof(float));
    }
  }
  void forward() override {
    const Tensor& x = a_.x[0];
    layer_norm_forward(x.type, x.data, gamma_->master.as<float>(), beta_->master.as<float>(), a_.y.data, mean_.as<float>(),
                       rstd_.as<float>(), rows_, cols_, kEps, a_.ctx.stream);
  }
  void backward() override {
    const Tensor& x = a_.x[0];
    const GradOut& dx = a_.dx[0];
    layer_norm_backward(x.type, x.data, a_.dy.data, gamma_->master.as<float>(), mean_.as<float>(), rstd_.as<float>(),
                        dx.t.data, dx.beta, gamma_->grad.as<float>(), beta_->grad.as<float>(), rows_, cols_, a_.ctx.stream);
  }
  std::string impl() const override { return "layer norm kernels"; }

 private:
  OpArgs a_;
  int64_t rows_ = 0, cols_ = 0;
  ParamBlob* gamma_ = nullptr;
  ParamBlob* beta_ = nullptr;
  DeviceBuffer mean_, rstd_;
};

}  // namespace

std::unique_ptr<CudaOp> make_layer_norm(const OpArgs& a) { return std::make_unique<LayerNorm>(a); }

}  // namespace paradnn::cuda
