// What the CUDA kernel files share: element conversions (every kernel computes in f32 and
// stores in the tensor's type: f32, f16, bf16; int32 labels and token ids), the dispatch from
// a tensor's storage to that type, and the launch shape of the element-wise kernels.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <stdexcept>

#include "platforms/cuda/cuda_check.hpp"
#include "platforms/cuda/cuda_types.hpp"

namespace paradnn::cuda {

constexpr int kThreads = 256;  // per block of the element-wise kernels

// Element i of n for every thread of a grid of blocks_for(n) blocks.
#define GRID_STRIDE(i, n) for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < (n); i += size_t(gridDim.x) * blockDim.x)

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f(int32_t v) { return static_cast<float>(v); }
template <typename T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ float from_f<float>(float v) { return v; }
template <>
__device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <>
__device__ __forceinline__ int32_t from_f<int32_t>(float v) { return static_cast<int32_t>(v); }


// Calls f with a value of the floating-point C++ type that stores `t` (throws for s32: the
// kernel computes in floating point).
template <typename F>
void dispatch_float(Storage t, F&& f) {
  switch (t) {
    case Storage::f32: f(float{}); return;
    case Storage::f16: f(__half{}); return;
    case Storage::bf16: f(__nv_bfloat16{}); return;
    case Storage::s32: break;
  }
  throw std::invalid_argument("cuda: a floating-point kernel was given s32 data");
}

// Calls f with a value of the C++ type that stores `t`, int32 included.
template <typename F>
void dispatch(Storage t, F&& f) {
  if (t == Storage::s32) return f(int32_t{});
  dispatch_float(t, f);
}

// Enough blocks to fill the GPU; each kernel strides over the rest.
inline unsigned blocks_for(size_t n) {
  const size_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65536 ? (b ? b : 1) : 65536);
}

inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

}  // namespace paradnn::cuda
