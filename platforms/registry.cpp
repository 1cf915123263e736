#include "platforms/registry.hpp"

#include <filesystem>

#include "paradnn/error.hpp"
#include "platforms/cpu/cpu_roofline.hpp"
#include "platforms/cpu/onednn_backend.hpp"
#include "platforms/tpu/tpu_backend.hpp"
#include "platforms/tpu/tpu_spec.hpp"
#ifdef PARADNN_HAVE_CUDA
#include "platforms/cuda/cuda_backend.hpp"
#include "platforms/cuda/cuda_roofline.hpp"
#endif

namespace paradnn {

std::unique_ptr<Backend> make_backend(const std::string& spec, const BackendOptions& options) {
  if (spec == "cpu") return cpu::make_cpu_backend();
  if (spec.rfind("tpu:", 0) == 0) return tpu::make_tpu_backend(spec.substr(4), options.measure_tpu_host);
  if (spec == "cuda") {
#ifdef PARADNN_HAVE_CUDA
    return cuda::make_cuda_backend();
#else
    throw InputError("no CUDA backend in this build (it needs nvcc, the CUDA toolkit and cuDNN at configure time, and PARADNN_WITH_CUDA=ON)");
#endif
  }
  throw InputError("unknown backend '" + spec + "' (expected cpu, cuda, or tpu:GENERATION[-CORES] such as tpu:v3-8)");
}

namespace {

// A TPU slice's ceilings are its spec's (nothing to measure): bf16 peak of all its chips,
// which f32 also runs at (XLA's default single bf16 pass), and HBM bandwidth of all chips.
PlatformFile tpu_spec_ceilings(const std::string& backend_name, const PlatformInfo& info) {
  const tpu::TpuSlice s = tpu::resolve_slice(backend_name.substr(4));
  PlatformFile f;
  f.machine = info;
  f.settings = "from the generation spec " + s.spec.file + " (not measured)";
  const double chips = s.chips;
  for (const char* dtype : {"f32", "bf16"})
    f.compute.push_back({dtype, 0, s.spec.peak_bf16_flops_per_chip * chips, 0, "spec"});
  if (s.spec.peak_int8_ops_per_chip > 0) f.compute.push_back({"int8", 0, s.spec.peak_int8_ops_per_chip * chips, 0, "spec"});
  f.bandwidth.push_back({"DRAM", 0, s.spec.hbm_bytes_per_s_per_chip * chips, 0, s.spec.hbm_bytes_per_chip * chips, "spec: HBM"});
  return f;
}

}  // namespace

std::optional<PlatformFile> platform_ceilings(const Backend& backend, const std::string& path) {
  if (!path.empty()) return load_platform_file(path);
  const PlatformInfo info = backend.platform();
  if (backend.simulated() && info.platform == "tpu") return tpu_spec_ceilings(backend.name(), info);
  if (backend.simulated()) return std::nullopt;
  if (info.platform == "cpu") return cpu::load_or_probe_platform("");
#ifdef PARADNN_HAVE_CUDA
  if (info.platform == "cuda") {
    std::string name = info.device_name;
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
    const std::string cached = "results/platform-" + name + ".yaml";
    if (std::filesystem::exists(cached)) return load_platform_file(cached);
    PlatformFile f = cuda::measure_cuda_roofline();
    std::filesystem::create_directories("results");
    save_platform_file(f, cached);
    return f;
  }
#endif
  return std::nullopt;
}

}  // namespace paradnn
