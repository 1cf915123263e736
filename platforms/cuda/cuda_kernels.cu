#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cub/block/block_reduce.cuh>
#include <stdexcept>

#include "platforms/cuda/cuda_check.hpp"
#include "platforms/cuda/cuda_kernel_common.cuh"
#include "platforms/cuda/cuda_kernels.hpp"

namespace paradnn::cuda {

namespace {

__device__ __forceinline__ uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

template <typename T>
__global__ void uniform_k(T* p, size_t n, float lo, float hi, uint64_t seed) {
  GRID_STRIDE(i, n) {
    const float u = static_cast<float>(splitmix(seed ^ (i * 0xD1B54A32D192ED03ull)) >> 40) * (1.0f / 16777216.0f);
    p[i] = from_f<T>(lo + (hi - lo) * u);
  }
}

__global__ void ints_k(int32_t* p, size_t n, int32_t bound, uint64_t seed) {
  GRID_STRIDE(i, n) p[i] = static_cast<int32_t>(splitmix(seed ^ (i * 0xD1B54A32D192ED03ull)) % uint64_t(bound));
}

template <typename A, typename B>
__global__ void convert_k(const A* src, B* dst, size_t n) {
  GRID_STRIDE(i, n) dst[i] = from_f<B>(to_f(src[i]));
}

template <typename T>
__global__ void accumulate_k(T* dst, const T* src, size_t n, float beta) {
  GRID_STRIDE(i, n) dst[i] = from_f<T>(to_f(src[i]) + (beta != 0.0f ? beta * to_f(dst[i]) : 0.0f));
}

template <typename T>
__global__ void bias_k(T* y, const T* b, size_t n, int64_t cols) {
  GRID_STRIDE(i, n) y[i] = from_f<T>(to_f(y[i]) + to_f(b[i % cols]));
}

template <typename T>
__global__ void copy_rows_k(T* dst, int64_t dp, const T* src, int64_t sp, int64_t cols, size_t n, float beta) {
  GRID_STRIDE(i, n) {
    const int64_t r = static_cast<int64_t>(i) / cols, c = static_cast<int64_t>(i) % cols;
    T& d = dst[r * dp + c];
    d = from_f<T>(to_f(src[r * sp + c]) + (beta != 0.0f ? beta * to_f(d) : 0.0f));
  }
}

// GELU with the exact erf form, as frameworks default to.
template <typename T>
__global__ void gelu_fwd_k(const T* x, T* y, size_t n) {
  GRID_STRIDE(i, n) {
    const float v = to_f(x[i]);
    y[i] = from_f<T>(0.5f * v * (1.0f + erff(v * 0.70710678f)));
  }
}

template <typename T>
__global__ void gelu_bwd_k(const T* x, const T* dy, T* dx, size_t n, float beta) {
  GRID_STRIDE(i, n) {
    const float v = to_f(x[i]);
    const float d = 0.5f * (1.0f + erff(v * 0.70710678f)) + v * 0.39894228f * __expf(-0.5f * v * v);
    dx[i] = from_f<T>(d * to_f(dy[i]) + (beta != 0.0f ? beta * to_f(dx[i]) : 0.0f));
  }
}

template <typename T>
__global__ void gather_k(const int32_t* ids, const T* table, T* y, int64_t dim, size_t n) {
  GRID_STRIDE(i, n) {
    const int64_t r = static_cast<int64_t>(i) / dim, c = static_cast<int64_t>(i) % dim;
    y[i] = table[int64_t(ids[r]) * dim + c];
  }
}

template <typename T>
__global__ void scatter_add_k(const int32_t* ids, const T* dy, float* dtable, int64_t dim, size_t n) {
  GRID_STRIDE(i, n) {
    const int64_t r = static_cast<int64_t>(i) / dim, c = static_cast<int64_t>(i) % dim;
    atomicAdd(dtable + int64_t(ids[r]) * dim + c, to_f(dy[i]));
  }
}

// One block per row: max, sum of exponentials, then loss and gradient.
template <typename T>
__global__ void softmax_xent_k(const T* logits, const int32_t* labels, int64_t classes, float inv_rows, float* row_loss,
                               T* dlogits, float beta) {
  using Reduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename Reduce::TempStorage tmp;
  __shared__ float shared_max, shared_sum;
  const int64_t row = blockIdx.x;
  const T* x = logits + row * classes;
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < classes; c += blockDim.x) m = fmaxf(m, to_f(x[c]));
  m = Reduce(tmp).Reduce(m, [](float a, float b) { return fmaxf(a, b); });
  if (threadIdx.x == 0) shared_max = m;
  __syncthreads();
  m = shared_max;
  float sum = 0;
  for (int64_t c = threadIdx.x; c < classes; c += blockDim.x) sum += __expf(to_f(x[c]) - m);
  sum = Reduce(tmp).Sum(sum);
  if (threadIdx.x == 0) shared_sum = sum;
  __syncthreads();
  sum = shared_sum;
  const int32_t label = labels[row];
  if (threadIdx.x == 0) row_loss[row] = logf(sum) + m - to_f(x[label]);
  if (!dlogits) return;
  T* d = dlogits + row * classes;
  for (int64_t c = threadIdx.x; c < classes; c += blockDim.x) {
    const float g = (__expf(to_f(x[c]) - m) / sum - (c == label ? 1.0f : 0.0f)) * inv_rows;
    d[c] = from_f<T>(g + (beta != 0.0f ? beta * to_f(d[c]) : 0.0f));
  }
}

template <typename W, typename G>
__global__ void update_k(UpdateRule r, float* master, W* w, const G* g, float* s1, float* s2, size_t n) {
  GRID_STRIDE(i, n) {
    const float gi = to_f(g[i]);
    float m = master[i];
    switch (r.optimizer) {
      case Optimizer::sgd: m -= r.lr * gi; break;
      case Optimizer::momentum: {
        const float v = r.momentum * s1[i] + gi;
        s1[i] = v;
        m -= r.lr * v;
        break;
      }
      case Optimizer::rmsprop: {  // TensorFlow's RMSProp with momentum, as ParaDnn ran it
        const float ms = r.decay * s1[i] + (1.0f - r.decay) * gi * gi;
        const float mo = r.momentum * s2[i] + r.lr * gi * rsqrtf(ms + r.epsilon);
        s1[i] = ms;
        s2[i] = mo;
        m -= mo;
        break;
      }
    }
    master[i] = m;
    if (w) w[i] = from_f<W>(m);
  }
}

}  // namespace

void fill_uniform(Storage t, void* p, size_t n, float lo, float hi, uint64_t seed, cudaStream_t s) {
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    uniform_k<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<T*>(p), n, lo, hi, seed);
  });
  check_launch("fill_uniform");
}

void fill_ints(int32_t* p, size_t n, int32_t bound, uint64_t seed, cudaStream_t s) {
  ints_k<<<blocks_for(n), kThreads, 0, s>>>(p, n, bound, seed);
  check_launch("fill_ints");
}

void convert(Storage from, const void* src, Storage to, void* dst, size_t n, cudaStream_t s) {
  dispatch(from, [&](auto a) {
    dispatch(to, [&](auto b) {
      using A = decltype(a);
      using B = decltype(b);
      convert_k<A, B><<<blocks_for(n), kThreads, 0, s>>>(static_cast<const A*>(src), static_cast<B*>(dst), n);
    });
  });
  check_launch("convert");
}

void accumulate(Storage t, void* dst, const void* src, size_t n, float beta, cudaStream_t s) {
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    accumulate_k<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<T*>(dst), static_cast<const T*>(src), n, beta);
  });
  check_launch("accumulate");
}

void add_bias(Storage t, void* y, const void* b, int64_t rows, int64_t cols, cudaStream_t s) {
  const size_t n = static_cast<size_t>(rows * cols);
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    bias_k<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<T*>(y), static_cast<const T*>(b), n, cols);
  });
  check_launch("add_bias");
}

void copy_rows(Storage t, void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch, int64_t rows, int64_t cols,
               float beta, cudaStream_t s) {
  const size_t n = static_cast<size_t>(rows * cols);
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    copy_rows_k<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<T*>(dst), dst_pitch, static_cast<const T*>(src),
                                                        src_pitch, cols, n, beta);
  });
  check_launch("copy_rows");
}

void gelu_forward(Storage t, const void* x, void* y, size_t n, cudaStream_t s) {
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    gelu_fwd_k<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), n);
  });
  check_launch("gelu_forward");
}

void gelu_backward(Storage t, const void* x, const void* dy, void* dx, size_t n, float beta, cudaStream_t s) {
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    gelu_bwd_k<T><<<blocks_for(n), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<const T*>(dy),
                                                       static_cast<T*>(dx), n, beta);
  });
  check_launch("gelu_backward");
}

void embedding_forward(Storage t, const int32_t* ids, const void* table, void* y, int64_t rows, int64_t dim,
                       cudaStream_t s) {
  const size_t n = static_cast<size_t>(rows * dim);
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    gather_k<T><<<blocks_for(n), kThreads, 0, s>>>(ids, static_cast<const T*>(table), static_cast<T*>(y), dim, n);
  });
  check_launch("embedding_forward");
}

void embedding_backward(Storage t, const int32_t* ids, const void* dy, float* dtable, int64_t rows, int64_t dim,
                        cudaStream_t s) {
  const size_t n = static_cast<size_t>(rows * dim);
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    scatter_add_k<T><<<blocks_for(n), kThreads, 0, s>>>(ids, static_cast<const T*>(dy), dtable, dim, n);
  });
  check_launch("embedding_backward");
}

void softmax_xent(Storage t, const void* logits, const int32_t* labels, int64_t rows, int64_t classes, float* row_loss,
                  void* dlogits, float beta, cudaStream_t s) {
  if (rows > 0x7fffffff) throw std::invalid_argument("softmax_xent: too many rows for one grid");
  dispatch(t, [&](auto tag) {
    using T = decltype(tag);
    softmax_xent_k<T><<<static_cast<unsigned>(rows), kThreads, 0, s>>>(
        static_cast<const T*>(logits), labels, classes, 1.0f / static_cast<float>(rows), row_loss, static_cast<T*>(dlogits),
        beta);
  });
  check_launch("softmax_xent");
}

void optimizer_update(const UpdateRule& r, float* master, Storage wt, void* w, Storage gt, const void* g, float* s1,
                      float* s2, size_t n, cudaStream_t s) {
  dispatch(wt, [&](auto wtag) {
    dispatch(gt, [&](auto gtag) {
      using W = decltype(wtag);
      using G = decltype(gtag);
      update_k<W, G><<<blocks_for(n), kThreads, 0, s>>>(r, master, static_cast<W*>(w), static_cast<const G*>(g), s1, s2, n);
    });
  });
  check_launch("optimizer_update");
}

}  // namespace paradnn::cuda
