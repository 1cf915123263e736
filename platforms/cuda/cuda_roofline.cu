#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <stdexcept>
#include <vector>

#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/cuda_platform.hpp"
#include "platforms/cuda/cuda_roofline.hpp"
#include "platforms/cuda/cuda_tensor_core_probe.hpp"
#include "platforms/cuda/device_buffer.hpp"

namespace paradnn::cuda {

namespace {

constexpr int kChains = 8;   // independent FMA chains per thread: hides the pipeline latency
constexpr int kUnroll = 16;  // FMAs per chain per loop trip
constexpr int kThreads = 256;

template <typename V>
struct Lanes;
template <>
struct Lanes<float> {
  static constexpr int n = 1;
  __device__ static float make(float v) { return v; }
  __device__ static float fma(float x, float a, float b) { return fmaf(x, a, b); }
  __device__ static float sum(float x) { return x; }
};
template <>
struct Lanes<__half2> {
  static constexpr int n = 2;
  __device__ static __half2 make(float v) { return __float2half2_rn(v); }
  __device__ static __half2 fma(__half2 x, __half2 a, __half2 b) { return __hfma2(x, a, b); }
  __device__ static float sum(__half2 x) { return __low2float(x) + __high2float(x); }
};
template <>
struct Lanes<__nv_bfloat162> {
  static constexpr int n = 2;
  __device__ static __nv_bfloat162 make(float v) { return __float2bfloat162_rn(v); }
  __device__ static __nv_bfloat162 fma(__nv_bfloat162 x, __nv_bfloat162 a, __nv_bfloat162 b) { return __hfma2(x, a, b); }
  __device__ static float sum(__nv_bfloat162 x) { return __low2float(x) + __high2float(x); }
};

// x <- a*x + b with a = -1, b = 1 (run-time values the compiler cannot fold) maps x to
// 1 - x and back; after an odd number of FMAs every chain holds exactly 1 - x0.
template <typename V>
__global__ void fma_kernel(float* out, float a_f, float b_f, int trips) {
  using L = Lanes<V>;
  const V a = L::make(a_f), b = L::make(b_f);
  V x[kChains];
#pragma unroll
  for (int k = 0; k < kChains; ++k) x[k] = L::make(static_cast<float>(k + 2));
  for (int t = 0; t < trips; ++t) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int k = 0; k < kChains; ++k) x[k] = L::fma(x[k], a, b);
  }
  float s = 0;
#pragma unroll
  for (int k = 0; k < kChains; ++k) s += L::sum(L::fma(x[k], a, b));  // the odd one
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

__global__ void read_kernel(const float4* p, size_t n, int passes, float* sink) {
  float acc = 0;
  for (int r = 0; r < passes; ++r)
    for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
      const float4 v = p[i];
      acc += v.x + v.y + v.z + v.w;
    }
  if (acc == 1.2345f) *sink = acc;  // keeps the loads; never true for the zero-filled input
}

__global__ void triad_kernel(float4* a, const float4* b, const float4* c, size_t n, float s) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float4 x = b[i], y = c[i];
    a[i] = make_float4(x.x + s * y.x, x.y + s * y.y, x.z + s * y.z, x.w + s * y.w);
  }
}

template <typename V>
Rate fma_rate(int repetitions) {
  const int blocks = sm_count() * 8;  // 2048 resident threads per SM on sm_80/sm_90
  const size_t threads = size_t(blocks) * kThreads;
  const int trips = 1 << 14;
  DeviceBuffer out(threads * sizeof(float));
  const double flops = double(threads) * kChains * (double(trips) * kUnroll + 1) * 2 * Lanes<V>::n;
  const Rate r = best_of(repetitions, flops, [&] {
    fma_kernel<V><<<blocks, kThreads>>>(out.as<float>(), -1.0f, 1.0f, trips);
    PARADNN_CUDA(cudaGetLastError());
  });
  std::vector<float> host(threads);
  PARADNN_CUDA(cudaMemcpy(host.data(), out.get(), out.bytes(), cudaMemcpyDeviceToHost));
  const float expected = -static_cast<float>(Lanes<V>::n * kChains * (kChains + 1) / 2);  // sum of 1 - (k + 2)
  for (float v : host)
    if (v != expected)
      throw std::runtime_error("FMA kernel computed " + std::to_string(v) + ", expected " + std::to_string(expected));
  return r;
}

}  // namespace

Rate fma_throughput(Storage t, int repetitions) {
  switch (t) {
    case Storage::f32: return fma_rate<float>(repetitions);
    case Storage::f16: return fma_rate<__half2>(repetitions);
    case Storage::bf16: return fma_rate<__nv_bfloat162>(repetitions);
    default: throw std::invalid_argument("no FMA kernel for s32");
  }
}

Rate library_gemm(DType t, int n, int repetitions) {
  const Storage s = storage_type(t);
  const cudaDataType_t type = cuda_type(s);
  const cublasComputeType_t compute = t == DType::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const size_t elems = size_t(n) * size_t(n);
  DeviceBuffer a(elems * size_of(s)), b(elems * size_of(s)), c(elems * size_of(s));
  fill_uniform(s, a.get(), elems, -1.0f, 1.0f, 1, nullptr);
  fill_uniform(s, b.get(), elems, -1.0f, 1.0f, 2, nullptr);
  const size_t workspace_bytes = size_t(64) << 20;
  DeviceBuffer workspace(workspace_bytes);

  cublasLtHandle_t lt = nullptr;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  auto release = [&] {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    for (auto l : {la, lb, lc})
      if (l) cublasLtMatrixLayoutDestroy(l);
    if (op) cublasLtMatmulDescDestroy(op);
    if (lt) cublasLtDestroy(lt);
  };
  try {
    PARADNN_CUDA(cublasLtCreate(&lt));
    PARADNN_CUDA(cublasLtMatmulDescCreate(&op, compute, CUDA_R_32F));
    const cublasOperation_t transpose = CUBLAS_OP_T;  // "TN": both operands K-major, the fast layout
    PARADNN_CUDA(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose));
    PARADNN_CUDA(cublasLtMatrixLayoutCreate(&la, type, n, n, n));
    PARADNN_CUDA(cublasLtMatrixLayoutCreate(&lb, type, n, n, n));
    PARADNN_CUDA(cublasLtMatrixLayoutCreate(&lc, type, n, n, n));
    PARADNN_CUDA(cublasLtMatmulPreferenceCreate(&pref));
    PARADNN_CUDA(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                                                      sizeof workspace_bytes));
    cublasLtMatmulHeuristicResult_t best{};
    int found = 0;
    PARADNN_CUDA(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &best, &found));
    if (found == 0) throw std::runtime_error("cuBLASLt has no algorithm for a " + std::to_string(n) + "^3 GEMM");
    const float alpha = 1.0f, beta = 0.0f;
    const Rate r = best_of(repetitions, 2.0 * n * double(n) * n, [&] {
      PARADNN_CUDA(cublasLtMatmul(lt, op, &alpha, a.get(), la, b.get(), lb, &beta, c.get(), lc, c.get(), lc, &best.algo,
                                  workspace.get(), workspace_bytes, nullptr));
    });
    release();
    return r;
  } catch (...) {
    release();
    throw;
  }
}

Rate read_bandwidth(size_t working_set_bytes, int repetitions) {
  const size_t n = working_set_bytes / sizeof(float4);
  DeviceBuffer data(n * sizeof(float4)), sink(sizeof(float));
  PARADNN_CUDA(cudaMemset(data.get(), 0, data.bytes()));
  // Enough passes that one timed kernel moves at least 4 GiB: launch overhead vanishes.
  const int passes = static_cast<int>(std::max<size_t>(1, (size_t(4) << 30) / data.bytes()));
  const int blocks = sm_count() * 8;
  return best_of(repetitions, double(data.bytes()) * passes, [&] {
    read_kernel<<<blocks, kThreads>>>(data.as<float4>(), n, passes, sink.as<float>());
    PARADNN_CUDA(cudaGetLastError());
  });
}

Rate triad_bandwidth(size_t working_set_bytes, int repetitions) {
  const size_t n = working_set_bytes / 3 / sizeof(float4);
  DeviceBuffer a(n * sizeof(float4)), b(n * sizeof(float4)), c(n * sizeof(float4));
  PARADNN_CUDA(cudaMemset(b.get(), 0, b.bytes()));
  PARADNN_CUDA(cudaMemset(c.get(), 0, c.bytes()));
  const int blocks = sm_count() * 8;
  return best_of(repetitions, 3.0 * double(a.bytes()), [&] {
    triad_kernel<<<blocks, kThreads>>>(a.as<float4>(), b.as<float4>(), c.as<float4>(), n, 3.0f);
    PARADNN_CUDA(cudaGetLastError());
  });
}

PlatformFile measure_cuda_roofline(int repetitions) {
  PlatformFile f;
  f.machine = cuda_platform();
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  f.date_utc = date;
  const int sms = f.machine.cores;
  for (auto [t, name] : {std::pair{Storage::f32, "f32"}, {Storage::f16, "f16"}, {Storage::bf16, "bf16"}}) {
    const Rate r = fma_throughput(t, repetitions);
    f.compute.push_back({name, sms, r.per_s, r.spread, "fma_kernel"});
  }
  // Tensor cores: the hand-written mma.sync probe beside cuBLASLt's GEMM, per dtype.
  const bool tensor_cores = compute_capability() >= 80;
  constexpr int kGemm = 8192;
  for (DType t : {DType::f16, DType::bf16, DType::tf32, DType::f32}) {
    if (tensor_cores && t != DType::f32) {
      const Rate m = mma_throughput(t, repetitions);
      f.compute.push_back({std::string(to_string(t)), sms, m.per_s, m.spread, kTensorCoreMethod});
    }
    const Rate r = library_gemm(t, kGemm, repetitions);
    f.compute.push_back({std::string(to_string(t)), sms, r.per_s, r.spread, "library_gemm"});
  }
  cudaDeviceProp p{};
  PARADNN_CUDA(cudaGetDeviceProperties(&p, 0));
  // Half of L2 stays resident; 1 GiB (or 16x L2) cannot, so it streams from HBM.
  const size_t l2 = size_t(p.l2CacheSize) / 2;
  const size_t hbm = std::max(size_t(1) << 30, size_t(p.l2CacheSize) * 16);
  const Rate l2_read = read_bandwidth(l2, repetitions), hbm_read = read_bandwidth(hbm, repetitions);
  const Rate hbm_triad = triad_bandwidth(hbm, repetitions);
  f.bandwidth.push_back({"L2", sms, l2_read.per_s, l2_read.spread, double(l2), "read"});
  f.bandwidth.push_back({"HBM", sms, hbm_read.per_s, hbm_read.spread, double(hbm), "read"});
  f.bandwidth.push_back({"HBM", sms, hbm_triad.per_s, hbm_triad.spread, double(hbm), "triad"});
  f.settings = "device 0; threads = SM count; FMA kernel " + std::to_string(kChains) + " chains x " +
               std::to_string(8 * kThreads) + " threads/SM (CUDA cores); " + kTensorCoreMethod +
               ": tensor cores, mma.sync m16n8k16 (f16, bf16) and m16n8k8 (tf32), f32 accumulate, operands in "
               "registers" + (tensor_cores ? "" : " (not measured: needs sm_80)") + "; cuBLASLt " + std::to_string(kGemm) +
               "^3 TN GEMM, f32 accumulate (tensor cores except f32); CUDA-event timing, best of " +
               std::to_string(repetitions);
  return f;
}

}  // namespace paradnn::cuda
