#include "platforms/cuda/cuda_backend.hpp"

#include "paradnn/error.hpp"
#include "platforms/cuda/cuda_data_parallel.hpp"
#include "platforms/cuda/cuda_device_binding.hpp"
#include "platforms/cuda/cuda_executable.hpp"
#include "platforms/cuda/cuda_types.hpp"
#include "platforms/cuda/cuda_platform.hpp"
#include "platforms/cuda/cuda_roofline.hpp"

namespace paradnn::cuda {

namespace {

std::optional<std::string> dtype_reason(DType t, int sm) {
  switch (t) {
    case DType::f32:
    case DType::s32: return std::nullopt;
    case DType::tf32:
    case DType::bf16:
      if (sm < 80) return std::string(to_string(t)) + " needs sm_80 or newer; this GPU is sm_" + std::to_string(sm);
      return std::nullopt;
    case DType::f16: return std::nullopt;
    case DType::int8:
    case DType::int16:
    case DType::int16_dfp: return "the cuda backend runs f32, tf32, f16 and bf16, not " + std::string(to_string(t));
  }
  return "unknown dtype";
}

class CudaBackend final : public Backend {
 public:
  // Under an MPI launcher each rank drives the GPU of its local rank from the start (device
  // queries, memory checks, preparation); elsewhere device 0.
  CudaBackend() {
    if (launcher_local_rank() >= 0 && !cuda_unavailable()) bind_local_device();
  }
  std::string name() const override { return "cuda"; }
  PlatformInfo platform() const override {
    if (auto why = unavailable()) {
      PlatformInfo info;
      info.platform = "cuda";
      info.device_name = *why;
      return info;
    }
    return cuda_platform();
  }
  std::optional<std::string> unavailable() const override { return cuda_unavailable(); }

  std::optional<std::string> cannot_run(const Graph& g, Mode m) const override {
    if (auto why = unavailable()) return why;
    const int sm = compute_capability();
    for (const Op& op : g.ops) {
      if (auto why = unsupported_reason(op)) return why;
      if (auto why = dtype_reason(op.dtype, sm)) return op.name + ": " + *why;
    }
    // The executable keeps every activation in one storage type (f32 for f32/tf32).
    for (const Op& op : g.ops)
      if (op.kind != OpKind::token_input && op.kind != OpKind::softmax_xent && storage_type(op.dtype) != storage_type(g.dtype))
        return op.name + ": per-op precision different from the graph's is not run by the cuda backend";
    // Ask before allocating: the analytic estimate plus a margin for cuDNN workspaces.
    const double need = g.memory(m).total(), have = free_device_memory_bytes();
    if (need > 0.9 * have)
      return "needs about " + std::to_string(static_cast<long long>(need / (1 << 20))) + " MiB of GPU memory; " +
             std::to_string(static_cast<long long>(have / (1 << 20))) + " MiB free";
    return std::nullopt;
  }

  std::unique_ptr<Executable> prepare(const Graph& g, Mode m, const Settings&) override {
    if (auto why = cannot_run(g, m)) throw Unsupported(*why);
    return make_cuda_executable(g, m);
  }

  std::optional<PlatformFile> ceilings(const std::string& path) const override {
    if (!path.empty()) return load_platform_file(path);
    return load_or_measure(platform_file_path(platform().device_name), {}, [] { return measure_cuda_roofline(); });
  }
  PlatformFile measure_ceilings(const ProbeOptions&) override { return measure_cuda_roofline(); }

  // NCCL over the launch's ranks, one GPU per rank (cuda_data_parallel); Unsupported where
  // this build has no NCCL.
  std::unique_ptr<DataParallelExecutable> prepare_data_parallel(const Graph& g, const Settings&,
                                                                const DataParallelOptions& o) override {
    if (auto why = cannot_run(g, Mode::train)) throw Unsupported(*why);
    return make_cuda_data_parallel(g, o);
  }
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend() { return std::make_unique<CudaBackend>(); }

}  // namespace paradnn::cuda
