// Kernels for the ops of the real-world models (transformer, RetinaNet): transpose,
// nearest upsampling, row softmax (optionally causal), layer norm and the sigmoid focal
// loss. All asynchronous on `s`; math in f32 whatever the storage type. Where a kernel
// writes an input gradient, dst = result + beta * dst (see GradOut).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "paradnn/graph.hpp"
#include "platforms/cuda/cuda_types.hpp"

namespace paradnn::cuda {

// y[out index] = x[in index] with out dims[k] = in[perm[k]], rank <= 6.
void transpose(Storage t, const void* x, const Dims& in, const std::vector<int>& perm, void* y, float beta, cudaStream_t s);

// [NC, H, W] -> [NC, H*f, W*f]; backward sums each source pixel's f*f copies (no atomics).
void upsample_forward(Storage t, const void* x, void* y, int64_t planes, int64_t h, int64_t w, int64_t f, cudaStream_t s);
void upsample_backward(Storage t, const void* dy, void* dx, int64_t planes, int64_t h, int64_t w, int64_t f, float beta,
                       cudaStream_t s);

// Softmax over rows of `cols`; `causal_m` > 0 masks column c > (row % causal_m) to 0.
void softmax_forward(Storage t, const void* x, void* y, int64_t rows, int64_t cols, int64_t causal_m, cudaStream_t s);
// dx = y * (dy - sum(dy * y)) per row.
void softmax_backward(Storage t, const void* y, const void* dy, void* dx, int64_t rows, int64_t cols, float beta,
                      cudaStream_t s);

// Layer norm over rows of `cols` with f32 gamma/beta; keeps per-row mean and 1/std.
void layer_norm_forward(Storage t, const void* x, const float* gamma, const float* beta, void* y, float* mean,
                        float* rstd, int64_t rows, int64_t cols, float eps, cudaStream_t s);
// dx (where non-null, with beta accumulation) and dgamma/dbeta (overwritten).
void layer_norm_backward(Storage t, const void* x, const void* dy, const float* gamma, const float* mean,
                         const float* rstd, void* dx, float dx_beta, float* dgamma, float* dbeta, int64_t rows,
                         int64_t cols, cudaStream_t s);

// Sigmoid focal loss (gamma 2, alpha 0.25) against 0/1 targets: per-block partial sums of
// the loss into `partial` (kFocalBlocks floats); where dx is set, dx = grad * scale + beta * dx.
constexpr unsigned kFocalBlocks = 256;
void focal_loss(Storage t, const void* x, const int32_t* target, size_t n, float* partial, void* dx, float scale,
                float beta, cudaStream_t s);

}  // namespace paradnn::cuda
