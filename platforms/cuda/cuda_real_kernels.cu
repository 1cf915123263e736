#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cub/block/block_reduce.cuh>
#include <stdexcept>

#include "platforms/cuda/cuda_check.hpp"
#include "platforms/cuda/cuda_kernel_common.cuh"
#include "platforms/cuda/cuda_real_kernels.hpp"

namespace paradnn::cuda {

namespace {

constexpr int kRowThreads = 128;  // softmax and layer-norm rows: 128 to 512 wide in the models
constexpr int kMaxRank = 6;
constexpr float kAlpha = 0.25f;   // focal loss; gamma is 2: the squares below

unsigned row_grid(int64_t rows) {
  if (rows > 0x7fffffff) throw std::invalid_argument("cuda: too many rows for one grid");
  return static_cast<unsigned>(rows > 0 ? rows : 1);
}

template <typename T>
__device__ __forceinline__ T blend(float v, const T* old, float beta) {  // v + beta * old
  return from_f<T>(beta != 0.0f ? v + beta * to_f(*old) : v);
}

struct Perm {
  int rank = 0;
  int64_t out[kMaxRank] = {};
  int64_t src_stride[kMaxRank] = {};  // the input's stride along output dim k
};

template <typename T>
__global__ void transpose_k(const T* x, T* y, Perm p, size_t n, float beta) {
  GRID_STRIDE(i, n) {
    size_t rest = i;
    int64_t src = 0;
    for (int k = p.rank - 1; k >= 0; --k) {
      src += static_cast<int64_t>(rest % size_t(p.out[k])) * p.src_stride[k];
      rest /= size_t(p.out[k]);
    }
    y[i] = blend(to_f(x[src]), y + i, beta);
  }
}

template <typename T>
__global__ void upsample_fwd_k(const T* x, T* y, int64_t h, int64_t w, int64_t f, size_t n) {
  const int64_t oh = h * f, ow = w * f;
  GRID_STRIDE(i, n) {
    const int64_t j = int64_t(i) % ow, r = (int64_t(i) / ow) % oh, p = int64_t(i) / (ow * oh);
    y[i] = x[(p * h + r / f) * w + j / f];
  }
}

// One thread per source pixel: sums its f x f block of output gradients.
template <typename T>
__global__ void upsample_bwd_k(const T* dy, T* dx, int64_t h, int64_t w, int64_t f, size_t n, float beta) {
  const int64_t ow = w * f;
  GRID_STRIDE(i, n) {
    const int64_t j = int64_t(i) % w, r = (int64_t(i) / w) % h, p = int64_t(i) / (w * h);
    const T* src = dy + (p * h * f + r * f) * ow + j * f;
    float s = 0;
    for (int64_t a = 0; a < f; ++a)
      for (int64_t b = 0; b < f; ++b) s += to_f(src[a * ow + b]);
    dx[i] = blend(s, dx + i, beta);
  }
}

using RowReduce = cub::BlockReduce<float, kRowThreads>;

// Sum over the block, returned to every thread.
__device__ __forceinline__ float block_sum(float v, RowReduce::TempStorage& tmp, float* shared) {
  v = RowReduce(tmp).Sum(v);
  if (threadIdx.x == 0) *shared = v;
  __syncthreads();
  v = *shared;
  __syncthreads();  // tmp and *shared may be reused next
  return v;
}

// One block per row. expf rather than __expf: f32 results are checked tightly.
template <typename T>
__global__ void softmax_fwd_k(const T* x, T* y, int64_t cols, int64_t causal_m) {
  __shared__ RowReduce::TempStorage tmp;
  __shared__ float shared;
  const int64_t row = blockIdx.x;
  const int64_t keep = causal_m > 0 ? min(cols, row % causal_m + 1) : cols;
  const T* xr = x + row * cols;
  T* yr = y + row * cols;
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < keep; c += blockDim.x) m = fmaxf(m, to_f(xr[c]));
  m = RowReduce(tmp).Reduce(m, [](float a, float b) { return fmaxf(a, b); });
  if (threadIdx.x == 0) shared = m;
  __syncthreads();
  m = shared;
  __syncthreads();
  float sum = 0;
  for (int64_t c = threadIdx.x; c < keep; c += blockDim.x) sum += expf(to_f(xr[c]) - m);
  const float inv = 1.0f / block_sum(sum, tmp, &shared);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = from_f<T>(c < keep ? expf(to_f(xr[c]) - m) * inv : 0.0f);
}

// Masked positions have y == 0, so they get dx == 0 with no mask here.
template <typename T>
__global__ void softmax_bwd_k(const T* y, const T* dy, T* dx, int64_t cols, float beta) {
  __shared__ RowReduce::TempStorage tmp;
  __shared__ float shared;
  const int64_t off = int64_t(blockIdx.x) * cols;
  float dot = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) dot += to_f(y[off + c]) * to_f(dy[off + c]);
  dot = block_sum(dot, tmp, &shared);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
    dx[off + c] = blend(to_f(y[off + c]) * (to_f(dy[off + c]) - dot), dx + off + c, beta);
}

template <typename T>
__global__ void layer_norm_fwd_k(const T* x, const float* gamma, const float* beta, T* y, float* mean_out, float* rstd_out,
                                 int64_t cols, float eps) {
  __shared__ RowReduce::TempStorage tmp;
  __shared__ float shared;
  const int64_t off = int64_t(blockIdx.x) * cols;
  float s = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) s += to_f(x[off + c]);
  const float mean = block_sum(s, tmp, &shared) / float(cols);
  float v = 0;  // two passes: no cancellation in the variance
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float d = to_f(x[off + c]) - mean;
    v += d * d;
  }
  const float rstd = rsqrtf(block_sum(v, tmp, &shared) / float(cols) + eps);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
    y[off + c] = from_f<T>(gamma[c] * (to_f(x[off + c]) - mean) * rstd + beta[c]);
  if (threadIdx.x == 0 && mean_out) {
    mean_out[blockIdx.x] = mean;
    rstd_out[blockIdx.x] = rstd;
  }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma.
template <typename T>
__global__ void layer_norm_bwd_k(const T* x, const T* dy, const float* gamma, const float* mean, const float* rstd, T* dx,
                                 float beta, int64_t cols) {
  __shared__ RowReduce::TempStorage tmp;
  __shared__ float shared;
  const int64_t row = blockIdx.x, off = row * cols;
  const float mu = mean[row], rs = rstd[row];
  float a = 0, b = 0;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float g = to_f(dy[off + c]) * gamma[c];
    a += g;
    b += g * (to_f(x[off + c]) - mu) * rs;
  }
  a = block_sum(a, tmp, &shared) / float(cols);
  b = block_sum(b, tmp, &shared) / float(cols);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float g = to_f(dy[off + c]) * gamma[c], xhat = (to_f(x[off + c]) - mu) * rs;
    dx[off + c] = blend(rs * (g - a - xhat * b), dx + off + c, beta);
  }
}

// Column sums over rows: 32 columns per block, 8 row lanes, row chunks added atomically.
template <typename T>
__global__ void layer_norm_param_k(const T* x, const T* dy, const float* mean, const float* rstd, float* dgamma, float* dbeta,
                                   int64_t rows, int64_t cols) {
  __shared__ float sg[8][33], sb[8][33];
  const int64_t c = int64_t(blockIdx.x) * 32 + threadIdx.x;
  float g = 0, b = 0;
  if (c < cols)
    for (int64_t r = int64_t(blockIdx.y) * 8 + threadIdx.y; r < rows; r += int64_t(gridDim.y) * 8) {
      const float d = to_f(dy[r * cols + c]);
      g += d * (to_f(x[r * cols + c]) - mean[r]) * rstd[r];
      b += d;
    }
  sg[threadIdx.y][threadIdx.x] = g;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y != 0 || c >= cols) return;
  for (int k = 1; k < 8; ++k) {
    g += sg[k][threadIdx.x];
    b += sb[k][threadIdx.x];
  }
  atomicAdd(dgamma + c, g);
  atomicAdd(dbeta + c, b);
}

__device__ __forceinline__ float log_sigmoid(float x) { return fminf(x, 0.0f) - log1pf(expf(-fabsf(x))); }

// The CPU backend's formula (onednn_focal_loss.cpp): with p = sigmoid(z),
// target 1: -alpha (1-p)^2 log p,  d/dz = alpha (1-p)^2 (2 p log p - (1-p));
// target 0: -(1-alpha) p^2 log(1-p), d/dz = (1-alpha) p^2 (p - 2 (1-p) log(1-p)).
template <typename T>
__global__ void focal_k(const T* x, const int32_t* target, size_t n, float* partial, T* dx, float scale, float beta) {
  using Reduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename Reduce::TempStorage tmp;
  float sum = 0;
  GRID_STRIDE(i, n) {
    const float z = to_f(x[i]);
    const float p = 1.0f / (1.0f + expf(-z));
    const bool pos = target[i] != 0;
    sum -= pos ? kAlpha * (1 - p) * (1 - p) * log_sigmoid(z) : (1 - kAlpha) * p * p * log_sigmoid(-z);
    if (dx) {
      const float g = pos ? kAlpha * (1 - p) * (1 - p) * (2 * p * log_sigmoid(z) - (1 - p))
                          : (1 - kAlpha) * p * p * (p - 2 * (1 - p) * log_sigmoid(-z));
      dx[i] = blend(g * scale, dx + i, beta);
    }
  }
  sum = Reduce(tmp).Sum(sum);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

}  // namespace

void transpose(Storage t, const void* x, const Dims& in, const std::vector<int>& perm, void* y, float beta, cudaStream_t s) {
  if (in.size() > size_t(kMaxRank) || perm.size() != in.size()) throw std::invalid_argument("cuda transpose: bad rank");
  Perm p;
  p.rank = static_cast<int>(in.size());
  int64_t stride[kMaxRank] = {}, acc = 1;
  for (int k = p.rank - 1; k >= 0; --k) {
    stride[k] = acc;
    acc *= in[size_t(k)];
  }
  for (int k = 0; k < p.rank; ++k) {
    p.out[k] = in[size_t(perm[size_t(k)])];
    p.src_stride[k] = stride[perm[size_t(k)]];
  }
  const size_t n = static_cast<size_t>(elements(in));
  dispatch_float(t, [&](auto tag) {
    using T = decltype(tag);
    transpose_k<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), p, n, beta);
  });
  check_launch("transpose");
}

void upsample_forward(Storage t, const void* x, void* y, int64_t planes, int64_t h, int64_t w, int64_t f, cudaStream_t s) {
  const size_t n = static_cast<size_t>(planes * h * w * f * f);
  dispatch_float(t, [&](auto tag) {
    using T = decltype(tag);
    upsample_fwd_k<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), h, w, f, n);
  });
  check_launch("upsample_forward");
}

void upsample_backward(Storage t, const void* dy, void* dx, int64_t planes, int64_t h, int64_t w, int64_t f, float beta,
                       cudaStream_t s) {
  const size_t n = static_cast<size_t>(planes * h * w);
  dispatch_float(t, [&](auto tag) {
    using T = decltype(tag);
    upsample_bwd_k<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<const T*>(dy), static_cast<T*>(dx), h, w, f, n, beta);
  });
  check_launch("upsample_backward");
}

void softmax_forward(Storage t, const void* x, void* y, int64_t rows, int64_t cols, int64_t causal_m, cudaStream_t s) {
  dispatch_float(t, [&](auto tag) {
    using T = decltype(tag);
    softmax_fwd_k<T><<<row_grid(rows), kRowThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), cols, causal_m);
  });
  check_launch("softmax_forward");
}

void softmax_backward(Storage t, const void* y, const void* dy, void* dx, int64_t rows, int64_t cols, float beta,
                      cudaStream_t s) {
  dispatch_float(t, [&](auto tag) {
    using T = decltype(tag);
    softmax_bwd_k<T><<<row_grid(rows), kRowThreads, 0, s>>>(static_cast<const T*>(y), static_cast<const T*>(dy),
                                                              static_cast<T*>(dx), cols, beta);
  });
  check_launch("softmax_backward");
}

void layer_norm_forward(Storage t, const void* x, const float* gamma, const float* beta, void* y, float* mean, float* rstd,
                        int64_t rows, int64_t cols, float eps, cudaStream_t s) {
  dispatch_float(t, [&](auto tag) {
    using T = decltype(tag);
    layer_norm_fwd_k<T><<<row_grid(rows), kRowThreads, 0, s>>>(static_cast<const T*>(x), gamma, beta, static_cast<T*>(y),
                                                                 mean, rstd, cols, eps);
  });
  check_launch("layer_norm_forward");
}

void layer_norm_backward(Storage t, const void* x, const void* dy, const float* gamma, const float* mean, const float* rstd,
                         void* dx, float dx_beta, float* dgamma, float* dbeta, int64_t rows, int64_t cols, cudaStream_t s) {
  PARADNN_CUDA(cudaMemsetAsync(dgamma, 0, size_t(cols) * sizeof(float), s));
  PARADNN_CUDA(cudaMemsetAsync(dbeta, 0, size_t(cols) * sizeof(float), s));
  const dim3 block(32, 8);
  const int64_t chunks = (rows + 63) / 64;  // about 64 rows per block
  const dim3 grid(static_cast<unsigned>((cols + 31) / 32), static_cast<unsigned>(chunks < 256 ? (chunks ? chunks : 1) : 256));
  dispatch_float(t, [&](auto tag) {
    using T = decltype(tag);
    const T* xt = static_cast<const T*>(x);
    const T* dyt = static_cast<const T*>(dy);
    if (dx)
      layer_norm_bwd_k<T><<<row_grid(rows), kRowThreads, 0, s>>>(xt, dyt, gamma, mean, rstd, static_cast<T*>(dx), dx_beta,
                                                                   cols);
    layer_norm_param_k<T><<<grid, block, 0, s>>>(xt, dyt, mean, rstd, dgamma, dbeta, rows, cols);
  });
  check_launch("layer_norm_backward");
}

void focal_loss(Storage t, const void* x, const int32_t* target, size_t n, float* partial, void* dx, float scale, float beta,
                cudaStream_t s) {
  dispatch_float(t, [&](auto tag) {
    using T = decltype(tag);
    focal_k<T><<<kFocalBlocks, kThreads, 0, s>>>(static_cast<const T*>(x), target, n, partial, static_cast<T*>(dx), scale,
                                                 beta);
  });
  check_launch("focal_loss");
}

}  // namespace paradnn::cuda
