// Ops that only move data: reshape, transpose and nearest-neighbour upsampling.
// - reshape is a view: the executable points its output at the input's buffer, and its
//   output gradient at the input's gradient where the reshape writes that gradient first
//   (then backward does nothing); otherwise backward adds its gradient in.
// - transpose is one permuting copy (Op::perm: out dim k is input dim perm[k]); backward
//   is the inverse permutation of the gradient.
// - upsample repeats each pixel `kernel` times in H and W; backward sums the copies.
#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/cuda_op.hpp"
#include "platforms/cuda/cuda_real_kernels.hpp"

namespace paradnn::cuda {

namespace {

class Reshape final : public CudaOp {
 public:
  explicit Reshape(const OpArgs& a) : a_(a) {}
  void forward() override {}
  void backward() override {
    const GradOut& dx = a_.dx[0];
    if (dx.t.data && dx.t.data != a_.dy.data) accumulate(a_.x[0].type, dx.t.data, a_.dy.data, a_.y.count(), dx.beta, a_.ctx.stream);
  }
  std::string impl() const override { return "reshape view"; }

 private:
  OpArgs a_;
};

class Transpose final : public CudaOp {
 public:
  explicit Transpose(const OpArgs& a) : a_(a), inverse_(a.op.perm.size()) {
    for (size_t k = 0; k < a.op.perm.size(); ++k) inverse_[size_t(a.op.perm[k])] = static_cast<int>(k);
  }
  void forward() override {
    const Tensor& x = a_.x[0];
    transpose(x.type, x.data, x.dims, a_.op.perm, a_.y.data, 0.0f, a_.ctx.stream);
  }
  void backward() override {
    const GradOut& dx = a_.dx[0];
    if (dx.t.data) transpose(a_.x[0].type, a_.dy.data, a_.y.dims, inverse_, dx.t.data, dx.beta, a_.ctx.stream);
  }
  std::string impl() const override { return "transpose kernel"; }

 private:
  OpArgs a_;
  std::vector<int> inverse_;
};

class Upsample final : public CudaOp {
 public:
  explicit Upsample(const OpArgs& a) : a_(a) {
    const Dims& in = a.x[0].dims;
    planes_ = in.at(0) * in.at(1);
    h_ = in.at(2);
    w_ = in.at(3);
  }
  void forward() override {
    upsample_forward(a_.y.type, a_.x[0].data, a_.y.data, planes_, h_, w_, a_.op.kernel, a_.ctx.stream);
  }
  void backward() override {
    const GradOut& dx = a_.dx[0];
    if (dx.t.data) upsample_backward(a_.y.type, a_.dy.data, dx.t.data, planes_, h_, w_, a_.op.kernel, dx.beta, a_.ctx.stream);
  }
  std::string impl() const override { return "nearest upsample kernel"; }

 private:
  OpArgs a_;
  int64_t planes_ = 0, h_ = 0, w_ = 0;
};

}  // namespace

std::unique_ptr<CudaOp> make_reshape(const OpArgs& a) { return std::make_unique<Reshape>(a); }
std::unique_ptr<CudaOp> make_transpose(const OpArgs& a) { return std::make_unique<Transpose>(a); }
std::unique_ptr<CudaOp> make_upsample(const OpArgs& a) { return std::make_unique<Upsample>(a); }

}  // namespace paradnn::cuda
