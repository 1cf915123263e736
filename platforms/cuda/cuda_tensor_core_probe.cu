#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "paradnn/error.hpp"
#include "platforms/cuda/cuda_platform.hpp"
#include "platforms/cuda/cuda_tensor_core_probe.hpp"
#include "platforms/cuda/device_buffer.hpp"

namespace paradnn::cuda {

namespace {

constexpr int kChains = 4;   // independent accumulators per warp: hide the MMA pipeline's latency
constexpr int kUnroll = 8;   // (+B, -B) pairs per chain per loop trip
constexpr int kThreads = 256;
constexpr int kBlocksPerSm = 4;  // 32 warps per SM, 8 per scheduler

enum class Kind { f16, bf16, tf32 };

// One warp-wide D = A * B + D on 16x8 f32 accumulators (4 per thread). A: 4 registers, B: 2.
template <Kind K>
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (K == Kind::f16) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else if constexpr (K == Kind::bf16) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  }
#else
  __trap();  // built for an architecture without these MMA shapes; the host refuses below sm_80
#endif
}

// One 32-bit register of the operand type holding `v` in every lane of it.
template <Kind K>
__device__ __forceinline__ uint32_t splat(float v) {
  if constexpr (K == Kind::f16) {
    __half2 h = __floats2half2_rn(v, v);
    return *reinterpret_cast<uint32_t*>(&h);
  } else if constexpr (K == Kind::bf16) {
    __nv_bfloat162 h = __floats2bfloat162_rn(v, v);
    return *reinterpret_cast<uint32_t*>(&h);
  } else {
    return __float_as_uint(v);  // tf32 reads the top 19 bits; +-1 are exact
  }
}

template <Kind K>
constexpr int k_of() { return K == Kind::tf32 ? 8 : 16; }

// Every A element is `a` and every B element +b or -b (run-time values the compiler cannot
// fold): each MMA adds +-K*a*b to every accumulator, so a (+B, -B) pair leaves it unchanged
// and after the last, odd, +B chain c holds exactly (c + 1) + K*a*b. Each thread writes the
// sum of its 4 x kChains accumulators.
template <Kind K>
__global__ void mma_kernel(float* out, float a_f, float b_f, int trips) {
  const uint32_t a[4] = {splat<K>(a_f), splat<K>(a_f), splat<K>(a_f), splat<K>(a_f)};
  const uint32_t bp[2] = {splat<K>(b_f), splat<K>(b_f)}, bn[2] = {splat<K>(-b_f), splat<K>(-b_f)};
  float d[kChains][4];
#pragma unroll
  for (int c = 0; c < kChains; ++c)
#pragma unroll
    for (int j = 0; j < 4; ++j) d[c][j] = static_cast<float>(c + 1);
  for (int t = 0; t < trips; ++t) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
      for (int c = 0; c < kChains; ++c) mma<K>(d[c], a, bp);
#pragma unroll
      for (int c = 0; c < kChains; ++c) mma<K>(d[c], a, bn);
    }
  }
  float s = 0;
#pragma unroll
  for (int c = 0; c < kChains; ++c) {
    mma<K>(d[c], a, bp);
#pragma unroll
    for (int j = 0; j < 4; ++j) s += d[c][j];
  }
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

template <Kind K>
Rate run(int repetitions) {
  const int blocks = sm_count() * kBlocksPerSm;
  const size_t threads = size_t(blocks) * kThreads, warps = threads / 32;
  const int trips = 1 << 12;
  DeviceBuffer out(threads * sizeof(float));
  const double flops_per_mma = 2.0 * 16 * 8 * k_of<K>();
  const double flops = double(warps) * kChains * (2.0 * trips * kUnroll + 1) * flops_per_mma;
  const Rate r = best_of(repetitions, flops, [&] {
    mma_kernel<K><<<blocks, kThreads>>>(out.as<float>(), 1.0f, 1.0f, trips);
    PARADNN_CUDA(cudaGetLastError());
  });
  std::vector<float> host(threads);
  PARADNN_CUDA(cudaMemcpy(host.data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost));
  const float expected = 4.0f * (kChains * (kChains + 1) / 2 + kChains * k_of<K>());  // sum of (c + 1) + K
  for (size_t i = 0; i < host.size(); ++i)
    if (host[i] != expected)
      throw std::runtime_error("tensor-core mma kernel computed " + std::to_string(host[i]) + " in thread " +
                               std::to_string(i) + ", expected " + std::to_string(expected));
  return r;
}

}  // namespace

Rate mma_throughput(DType t, int repetitions) {
  if (compute_capability() < 80)
    throw Unsupported("the mma.sync tensor-core probe needs sm_80 or newer; this GPU is sm_" +
                      std::to_string(compute_capability()));
  switch (t) {
    case DType::f16: return run<Kind::f16>(repetitions);
    case DType::bf16: return run<Kind::bf16>(repetitions);
    case DType::tf32: return run<Kind::tf32>(repetitions);
    default: throw Unsupported("no tensor-core probe for " + std::string(to_string(t)) + " (f16, bf16, tf32)");
  }
}

}  // namespace paradnn::cuda
