// The loss: softmax cross-entropy averaged over rows (every time step of every sequence
// for the RNN model). Training runs one fused kernel giving per-row losses and the logits'
// gradient; inference runs cuDNN's softmax, as a deployed classifier would.
#include <numeric>
#include <vector>

#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

const float kOne = 1.0f, kZero = 0.0f;

class SoftmaxXent final : public CudaOp {
 public:
  explicit SoftmaxXent(const OpArgs& a) : a_(a) {
    const Tensor& logits = a.x[0];
    classes_ = logits.dims.back();
    rows_ = static_cast<int64_t>(logits.count()) / classes_;
    labels_ = DeviceBuffer(size_t(rows_) * sizeof(int32_t));
    fill_ints(labels_.as<int32_t>(), size_t(rows_), static_cast<int32_t>(classes_), 0x1abe1, a.ctx.stream);
    row_loss_ = DeviceBuffer(size_t(rows_) * sizeof(float));
    if (!a.training()) {
      desc_ = flat_desc(logits.type, Dims{rows_, classes_});
      probs_ = DeviceBuffer(logits.count() * size_of(logits.type));
    }
  }

  void forward() override {
    const Tensor& x = a_.x[0];
    if (!a_.training()) {
      PARADNN_CUDA(cudnnSoftmaxForward(a_.ctx.dnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE, &kOne, desc_, x.data,
                                       &kZero, desc_, probs_.get()));
      return;
    }
    const GradOut& dx = a_.dx[0];
    softmax_xent(x.type, x.data, labels_.as<int32_t>(), rows_, classes_, row_loss_.as<float>(), dx.t.data, dx.beta,
                 a_.ctx.stream);
  }

  std::optional<double> loss() const override {
    if (!a_.training()) return std::nullopt;
    std::vector<float> host(static_cast<size_t>(rows_));
    PARADNN_CUDA(cudaMemcpyAsync(host.data(), row_loss_.get(), row_loss_.bytes(), cudaMemcpyDeviceToHost, a_.ctx.stream));
    PARADNN_CUDA(cudaStreamSynchronize(a_.ctx.stream));
    return std::accumulate(host.begin(), host.end(), 0.0) / static_cast<double>(rows_);
  }

  std::string impl() const override {
    return a_.training() ? "softmax cross-entropy kernel" : "cudnnSoftmaxForward accurate";
  }

  const DeviceBuffer* labels() const override { return &labels_; }

 private:
  OpArgs a_;
  int64_t classes_ = 0, rows_ = 0;
  DeviceBuffer labels_, row_loss_, probs_;
  TensorDesc desc_;
};

}  // namespace

std::unique_ptr<CudaOp> make_softmax_xent(const OpArgs& a) { return std::make_unique<SoftmaxXent>(a); }

}  // namespace paradnn::cuda
