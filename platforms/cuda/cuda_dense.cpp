// Fully-connected layers as cuBLAS GEMMs (cublasGemmEx, f32 accumulation). A rank-3
// [T, N, K] input is one GEMM over T*N rows; [N, C, H, W] flattens to N x CHW.
//
// Row-major y[rows, out] = x[rows, K] W^T is column-major y^T = W x^T, so every call
// below reads as its column-major transpose. Weight and bias gradients are written in
// f32 straight from the GEMM (16-bit inputs, f32 output), so no conversion precedes
// the update.
#include <cmath>

#include "paradnn/cost.hpp"
#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

class Dense final : public CudaOp {
 public:
  explicit Dense(const OpArgs& a) : a_(a), post_(a) {
    const GemmRows r = dense_gemm_rows(a.x[0].dims);
    rows_ = static_cast<int>(r.rows);
    k_ = static_cast<int>(r.features);
    out_ = static_cast<int>(a.op.out.back());
    compute_ = cublas_compute(a.op.dtype);
    const Storage t = a.y.type, grad = Storage::f32;
    const float s = 1.0f / std::sqrt(static_cast<float>(k_));
    w_ = &param_blob(a, 0, size_t(out_) * k_, t, grad, -s, s);
    grad_beta_ = weight_grad_beta(a);
    if (a.op.bias) {
      b_ = &param_blob(a, 1, size_t(out_), t, grad, -s, s);
      if (a.training()) {  // bias gradient = dy^T * ones, as one more GEMM
        ones_ = DeviceBuffer(size_t(rows_) * size_of(t));
        fill_uniform(t, ones_.get(), size_t(rows_), 1.0f, 1.0f, 0, a.ctx.stream);
      }
    }
  }

  void forward() override {
    gemm(CUBLAS_OP_T, CUBLAS_OP_N, out_, rows_, k_, w_->weight(), k_, a_.x[0].data, k_, 0.0f, a_.y.data, a_.y.type, out_);
    if (b_) add_bias(a_.y.type, a_.y.data, b_->weight(), rows_, out_, a_.ctx.stream);
    post_.forward();
  }

  void backward() override {
    post_.backward();
    const GradOut& dx = a_.dx[0];
    if (dx.t.data)  // dx[rows, K] = dy W
      gemm(CUBLAS_OP_N, CUBLAS_OP_N, k_, rows_, out_, w_->weight(), k_, a_.dy.data, out_, dx.beta, dx.t.data, dx.t.type, k_);
    // dW[out, K] = dy^T x (added to a tied op's where it shares the weights)
    gemm(CUBLAS_OP_N, CUBLAS_OP_T, k_, out_, rows_, a_.x[0].data, k_, a_.dy.data, out_, grad_beta_, w_->grad.get(), Storage::f32,
         k_);
    if (b_)  // db[out] = dy^T 1
      gemm(CUBLAS_OP_N, CUBLAS_OP_N, out_, 1, rows_, a_.dy.data, out_, ones_.get(), rows_, grad_beta_, b_->grad.get(), Storage::f32,
           out_);
  }

  std::string impl() const override {
    return std::string("cublasGemmEx ") + to_string(a_.y.type) + (compute_ == CUBLAS_COMPUTE_32F_FAST_TF32 ? " tf32" : "");
  }

 private:
  // C = A op B in column-major terms; A and B are in the activation type.
  void gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void* A, int lda, const void* B, int ldb,
            float beta, void* C, Storage c_type, int ldc) const {
    const float alpha = 1.0f;
    const cudaDataType_t t = cuda_type(a_.y.type);
    PARADNN_CUDA(cublasGemmEx(a_.ctx.blas, ta, tb, m, n, k, &alpha, A, t, lda, B, t, ldb, &beta, C, cuda_type(c_type), ldc,
                              compute_, CUBLAS_GEMM_DEFAULT));
  }

  OpArgs a_;
  PostActivation post_;
  int rows_ = 0, k_ = 0, out_ = 0;
  cublasComputeType_t compute_ = CUBLAS_COMPUTE_32F;
  float grad_beta_ = 0;
  ParamBlob* w_ = nullptr;
  ParamBlob* b_ = nullptr;
  DeviceBuffer ones_;
};

}  // namespace

std::unique_ptr<CudaOp> make_dense(const OpArgs& a) { return std::make_unique<Dense>(a); }

}  // namespace paradnn::cuda
