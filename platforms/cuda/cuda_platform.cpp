#include "platforms/cuda/cuda_platform.hpp"

#include <cublasLt.h>

#include "platforms/cuda/cuda_check.hpp"

namespace paradnn::cuda {

namespace {

std::string dotted(int v, int major_div, int minor_div) {
  return std::to_string(v / major_div) + "." + std::to_string(v % major_div / minor_div);
}

}  // namespace

std::optional<std::string> cuda_unavailable() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return "no CUDA device: " + std::string(cudaGetErrorString(e));
  }
  if (n == 0) return std::string("no CUDA device: cudaGetDeviceCount found 0 devices");
  return std::nullopt;
}

int compute_capability() {
  cudaDeviceProp p{};
  PARADNN_CUDA(cudaGetDeviceProperties(&p, 0));
  return p.major * 10 + p.minor;
}

double free_device_memory_bytes() {
  size_t free = 0, total = 0;
  PARADNN_CUDA(cudaMemGetInfo(&free, &total));
  return static_cast<double>(free);
}

PlatformInfo cuda_platform() {
  cudaDeviceProp p{};
  PARADNN_CUDA(cudaGetDeviceProperties(&p, 0));
  PlatformInfo info;
  info.platform = "cuda";
  info.device_name = p.name;
  info.isa = "sm_" + std::to_string(p.major) + std::to_string(p.minor);
  info.cores = p.multiProcessorCount;  // streaming multiprocessors
  info.sockets = 1;
  info.hardware_threads = p.multiProcessorCount * p.maxThreadsPerMultiProcessor;
  info.memory_bytes = static_cast<double>(p.totalGlobalMem);
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  info.versions["cuda_driver"] = dotted(driver, 1000, 10);
  info.versions["cuda_runtime"] = dotted(runtime, 1000, 10);
  const size_t dnn = cudnnGetVersion();  // e.g. 91900 for 9.19.0
  info.versions["cudnn"] = std::to_string(dnn / 10000) + "." + std::to_string(dnn % 10000 / 100) + "." + std::to_string(dnn % 100);
  const size_t lt = cublasLtGetVersion();  // e.g. 130000 for 13.0.0
  info.versions["cublas"] = std::to_string(lt / 10000) + "." + std::to_string(lt % 10000 / 100) + "." + std::to_string(lt % 100);
  return info;
}

}  // namespace paradnn::cuda
