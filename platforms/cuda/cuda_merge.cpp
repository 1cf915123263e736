// Residual sums and channel concatenation as kernels: an add sums its inputs and passes
// dy to each; a concat copies each input into its channel slice and the slice back.
#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

class Add final : public CudaOp {
 public:
  explicit Add(const OpArgs& a) : a_(a) {}
  void forward() override {
    for (size_t i = 0; i < a_.x.size(); ++i)
      accumulate(a_.y.type, a_.y.data, a_.x[i].data, a_.y.count(), i == 0 ? 0.0f : 1.0f, a_.ctx.stream);
  }
  void backward() override {
    for (const GradOut& dx : a_.dx)
      if (dx.t.data) accumulate(a_.y.type, dx.t.data, a_.dy.data, a_.y.count(), dx.beta, a_.ctx.stream);
  }
  std::string impl() const override { return "add kernel"; }

 private:
  OpArgs a_;
};

// [N, C_i, ...] into [N, C, ...] at channel offset sum(C_j, j < i): N rows of C_i * inner.
class Concat final : public CudaOp {
 public:
  explicit Concat(const OpArgs& a) : a_(a) {
    const Dims& out = a.y.dims;
    rows_ = out.at(0);
    inner_ = elements(out) / (out[0] * out[1]);
  }
  void forward() override {
    int64_t offset = 0;
    for (const Tensor& x : a_.x) {
      const int64_t cols = x.dims[1] * inner_;
      copy_rows(a_.y.type, slice(a_.y.data, offset), a_.y.dims[1] * inner_, x.data, cols, rows_, cols, 0.0f, a_.ctx.stream);
      offset += cols;
    }
  }
  void backward() override {
    int64_t offset = 0;
    for (size_t i = 0; i < a_.x.size(); ++i) {
      const int64_t cols = a_.x[i].dims[1] * inner_;
      const GradOut& dx = a_.dx[i];
      if (dx.t.data)
        copy_rows(a_.y.type, dx.t.data, cols, slice(a_.dy.data, offset), a_.y.dims[1] * inner_, rows_, cols, dx.beta,
                  a_.ctx.stream);
      offset += cols;
    }
  }
  std::string impl() const override { return "concat kernel"; }

 private:
  void* slice(void* base, int64_t offset) const {
    return static_cast<char*>(base) + offset * static_cast<int64_t>(size_of(a_.y.type));
  }
  OpArgs a_;
  int64_t rows_ = 0, inner_ = 1;
};

}  // namespace

std::unique_ptr<CudaOp> make_merge(const OpArgs& a) {
  if (a.op.kind == OpKind::add) return std::make_unique<Add>(a);
  return std::make_unique<Concat>(a);
}

}  // namespace paradnn::cuda
