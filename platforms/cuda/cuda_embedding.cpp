// Embedding lookup: a gather of table rows by token id; backward scatter-adds dy into an
// f32 table gradient (atomics, since ids repeat), zeroed at the start of each backward
// (by the first writer, where the table is tied to other ops).
#include <cmath>

#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

class Embedding final : public CudaOp {
 public:
  explicit Embedding(const OpArgs& a) : a_(a) {
    const Param& p = a.op.params.at(0);
    dim_ = p.dims.at(1);
    rows_ = static_cast<int64_t>(a.x[0].count());
    table_ = &param_blob(a, 0, static_cast<size_t>(elements(p.dims)), a.y.type, Storage::f32, -1.0f, 1.0f);
    zero_grad_ = weight_grad_beta(a) == 0.0f;
  }
  void forward() override {
    embedding_forward(a_.y.type, a_.x[0].as_ids(), table_->weight(), a_.y.data, rows_, dim_, a_.ctx.stream);
  }
  void backward() override {
    // Zeroed by the first writer only: a tied op's gradient may already be in it.
    if (zero_grad_) PARADNN_CUDA(cudaMemsetAsync(table_->grad.get(), 0, table_->grad.bytes(), a_.ctx.stream));
    embedding_backward(a_.y.type, a_.x[0].as_ids(), a_.dy.data, table_->grad.as<float>(), rows_, dim_, a_.ctx.stream);
  }
  std::string impl() const override { return "embedding gather/scatter-add kernels"; }

 private:
  OpArgs a_;
  int64_t dim_ = 0, rows_ = 0;
  ParamBlob* table_ = nullptr;
  bool zero_grad_ = true;
};

}  // namespace

std::unique_ptr<CudaOp> make_embedding(const OpArgs& a) { return std::make_unique<Embedding>(a); }

}  // namespace paradnn::cuda
