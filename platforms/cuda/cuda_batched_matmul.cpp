// batched_matmul: C[b] = A[b] B[b] for [B, M, K] x [B, K, N] (or B stored [B, N, K] with
// transpose_b) as one cublasGemmStridedBatchedEx, f32 accumulation (tensor cores for
// 16-bit storage, TF32 where the graph asks). Backward is two more strided-batched GEMMs:
// dA = dC B^T, and dB = A^T dC (or dC^T A for transpose_b), with the transposes given to
// cuBLAS as operations, never materialized.
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

namespace {

class BatchedMatmul final : public CudaOp {
 public:
  explicit BatchedMatmul(const OpArgs& a) : a_(a), compute_(cublas_compute(a.op.dtype)) {
    const Dims& da = a.x.at(0).dims;
    batch_ = static_cast<int>(da.at(0));
    m_ = static_cast<int>(da.at(1));
    k_ = static_cast<int>(da.at(2));
    n_ = static_cast<int>(a.y.dims.at(2));
  }

  void forward() override {
    gemm(false, a_.op.transpose_b, m_, n_, k_, a_.x[0].data, a_.x[1].data, 0.0f, a_.y.data);
  }

  void backward() override {
    const GradOut& da = a_.dx[0];
    const GradOut& db = a_.dx[1];
    // dA [M, K] = dC [M, N] x B^T, B^T being [N, K]: stored as such for transpose_b.
    if (da.t.data) gemm(false, !a_.op.transpose_b, m_, k_, n_, a_.dy.data, a_.x[1].data, da.beta, da.t.data);
    if (!db.t.data) return;
    if (a_.op.transpose_b) gemm(true, false, n_, k_, m_, a_.dy.data, a_.x[0].data, db.beta, db.t.data);  // dC^T A
    else gemm(true, false, k_, n_, m_, a_.x[0].data, a_.dy.data, db.beta, db.t.data);                     // A^T dC
  }

  std::string impl() const override {
    return std::string("cublasGemmStridedBatchedEx ") + to_string(a_.y.type) +
           (compute_ == CUBLAS_COMPUTE_32F_FAST_TF32 ? " tf32" : "");
  }

 private:
  // Row-major C[m, n] = op(X)[m, k] op(Y)[k, n] per batch, X stored [m, k] (or [k, m] when
  // tx), Y stored [k, n] (or [n, k] when ty). cuBLAS is column-major, so it computes
  // C^T = op(Y)^T op(X)^T with the stored buffers read as their transposes.
  void gemm(bool tx, bool ty, int m, int n, int k, const void* X, const void* Y, float beta, void* C) const {
    const float alpha = 1.0f;
    const cudaDataType_t t = cuda_type(a_.y.type);
    const long long sx = 1LL * m * k, sy = 1LL * k * n, sc = 1LL * m * n;
    PARADNN_CUDA(cublasGemmStridedBatchedEx(a_.ctx.blas, ty ? CUBLAS_OP_T : CUBLAS_OP_N, tx ? CUBLAS_OP_T : CUBLAS_OP_N, n, m,
                                            k, &alpha, Y, t, ty ? k : n, sy, X, t, tx ? m : k, sx, &beta, C, t, n, sc, batch_,
                                            compute_, CUBLAS_GEMM_DEFAULT));
  }

  OpArgs a_;
  cublasComputeType_t compute_;
  int batch_ = 0, m_ = 0, k_ = 0, n_ = 0;
};

}  // namespace

std::unique_ptr<CudaOp> make_batched_matmul(const OpArgs& a) { return std::make_unique<BatchedMatmul>(a); }

}  // namespace paradnn::cuda
