// RetinaNet's sigmoid focal loss (gamma 2, alpha 0.25) over logits [N, anchors, K],
// summed over the logits and averaged over the N x anchors rows (cost.cpp's definition).
// Targets are the CPU backend's exactly (same seed and distribution: each logit positive
// with probability 1/8), made on the host while preparing and copied once. Training
// writes the logits' gradient in the same kernel as the loss (as softmax_xent does); the
// loss itself is per-block partial sums, added on the host only when loss() is asked.
#include <numeric>
#include <random>
#include <vector>

#include "platforms/cuda/cuda_op.hpp"
#include "platforms/cuda/cuda_real_kernels.hpp"

namespace paradnn::cuda {

namespace {

class FocalLoss final : public CudaOp {
 public:
  explicit FocalLoss(const OpArgs& a) : a_(a) {
    const Tensor& x = a.x[0];
    n_ = x.count();
    rows_ = static_cast<int64_t>(n_) / x.dims.back();
    std::vector<int32_t> target(n_);
    std::mt19937 rng(5);  // as platforms/cpu/backend/onednn_focal_loss.cpp
    std::bernoulli_distribution positive(1.0 / 8);
    for (int32_t& t : target) t = positive(rng) ? 1 : 0;
    targets_ = DeviceBuffer(n_ * sizeof(int32_t));
    PARADNN_CUDA(cudaMemcpyAsync(targets_.get(), target.data(), targets_.bytes(), cudaMemcpyHostToDevice, a.ctx.stream));
    PARADNN_CUDA(cudaStreamSynchronize(a.ctx.stream));  // `target` is freed on return
    partial_ = DeviceBuffer(kFocalBlocks * sizeof(float));
  }

  void forward() override {
    const Tensor& x = a_.x[0];
    const GradOut& dx = a_.dx[0];
    focal_loss(x.type, x.data, targets_.as<int32_t>(), n_, partial_.as<float>(), a_.training() ? dx.t.data : nullptr,
               1.0f / static_cast<float>(rows_), dx.beta, a_.ctx.stream);
  }

  std::optional<double> loss() const override {
    if (!a_.training()) return std::nullopt;
    std::vector<float> host(kFocalBlocks);
    PARADNN_CUDA(cudaMemcpyAsync(host.data(), partial_.get(), partial_.bytes(), cudaMemcpyDeviceToHost, a_.ctx.stream));
    PARADNN_CUDA(cudaStreamSynchronize(a_.ctx.stream));
    return std::accumulate(host.begin(), host.end(), 0.0) / static_cast<double>(rows_);
  }

  std::string impl() const override { return "focal loss kernel"; }
  const DeviceBuffer* labels() const override { return &targets_; }

 private:
  OpArgs a_;
  size_t n_ = 0;
  int64_t rows_ = 0;
  DeviceBuffer targets_, partial_;
};

}  // namespace

std::unique_ptr<CudaOp> make_focal_loss(const OpArgs& a) { return std::make_unique<FocalLoss>(a); }

}  // namespace paradnn::cuda
