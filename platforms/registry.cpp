#include "platforms/registry.hpp"

#include "paradnn/error.hpp"
#include "platforms/cpu/cpu_backend.hpp"
#include "platforms/simulated/simulated_backend.hpp"
#include "platforms/torch/torch_backend.hpp"
#ifdef PARADNN_HAVE_CUDA
#include "platforms/cuda/cuda_backend.hpp"
#endif

namespace paradnn {

std::unique_ptr<Backend> make_backend(const std::string& spec, const BackendOptions& options) {
  if (spec == "cpu") return cpu::make_cpu_backend();
  if (spec == "torch") return torch::make_torch_backend();  // unavailable() says why where torch is missing
  if (spec.rfind("tpu:", 0) == 0) return simulated::make_tpu_backend(spec.substr(4), options.measure_tpu_host);
  if (spec.rfind("gpu-model:", 0) == 0)
    return simulated::make_gpu_model_backend(spec.substr(10), options.measure_tpu_host);
  if (spec == "cuda") {
#ifdef PARADNN_HAVE_CUDA
    return cuda::make_cuda_backend();
#else
    throw InputError("no CUDA backend in this build (it needs nvcc, the CUDA toolkit and cuDNN at configure time, and PARADNN_WITH_CUDA=ON)");
#endif
  }
  throw InputError("unknown backend '" + spec + "' (expected cpu, cuda, torch, tpu:GENERATION[-CORES] such as tpu:v3-8, or gpu-model:NAME such as gpu-model:v100)");
}

}  // namespace paradnn
