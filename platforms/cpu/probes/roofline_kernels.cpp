#include "platforms/cpu/probes/roofline_kernels.hpp"

#include <fmt/core.h>

#include <set>
#include <stdexcept>

namespace paradnn::cpu {

std::vector<ComputeKernel> all_compute_kernels() {
  // The CPU's own flags: a test may run every kernel the silicon has, whatever oneDNN's cap.
  const CpuidFlags c = cpu_features().cpuid;
  const bool avx2 = c.avx2 && c.fma;
  const bool avx512 = c.avx512f && c.avx512bw;
  const bool avx512_vnni = avx512 && c.avx512_vnni;
  const bool avx_vnni = avx2 && c.avx_vnni;
  const bool avx512_bf16 = avx512 && c.avx512_bf16;
  // AMX needs the tile state granted by Linux as well as the cpuid bits.
  const bool amx_bf16 = amx_unavailable_reason("bf16").empty();
  const bool amx_int8 = amx_unavailable_reason("int8").empty();
  return {
      {"f32", "vfmadd231ps zmm", fma_f32_avx512, avx512},
      {"f32", "vfmadd231ps ymm", fma_f32_avx2, avx2},
      {"bf16", "tdpbf16ps tmm (AMX)", dot_bf16_amx, amx_bf16, "amx_kernel"},
      {"bf16", "vdpbf16ps zmm", dot_bf16_avx512, avx512_bf16},
      {"int8", "tdpbusd tmm (AMX)", dot_int8_amx, amx_int8, "amx_kernel"},
      {"int8", "vpdpbusd zmm", dot_int8_avx512_vnni, avx512_vnni},
      {"int8", "vpdpbusd ymm (AVX-VNNI)", dot_int8_avx_vnni, avx_vnni},
      {"int8", "vpmaddubsw+vpmaddwd+vpaddd ymm", dot_int8_avx2, avx2},
      {"int16", "vpdpwssd zmm", dot_int16_avx512_vnni, avx512_vnni},
      {"int16", "vpmaddwd+vpaddd zmm", dot_int16_avx512, avx512},
      {"int16", "vpmaddwd+vpaddd ymm", dot_int16_avx2, avx2},
  };
}

std::vector<ComputeKernel> compute_kernels(const CpuFeatures& f) {
  // What oneDNN would use: its ISA cap applies to the probe too.
  auto allowed = [&](const ComputeKernel& k) {
    const bool zmm = k.name.find("zmm") != std::string::npos;
    if (zmm && !f.avx512) return false;
    // AMX where oneDNN dispatches to it (avx512_core_amx; an ISA cap below it caps this too).
    if (k.method == "amx_kernel") return f.amx && f.avx512 && (k.dtype == "bf16" ? f.bf16 : f.vnni);
    if (!f.avx2) return false;
    if (k.dtype == "bf16") return f.bf16;
    if (k.name.find("vpdp") != std::string::npos) return f.vnni;
    return true;
  };
  std::vector<ComputeKernel> chosen;
  std::set<std::string> have;
  for (const ComputeKernel& k : all_compute_kernels())
    if (k.runs_here && allowed(k) && have.insert(k.dtype).second) chosen.push_back(k);
  return chosen;
}

double run_checked(const ComputeKernel& k, int64_t steps) {
  const KernelOutcome o = k.run(steps);
  if (o.result != o.expected)
    throw std::runtime_error(fmt::format("roofline kernel {} ({}) summed to {} after {} steps, expected exactly {}",
                                         k.name, k.dtype, o.result, steps, o.expected));
  return o.ops;
}

}  // namespace paradnn::cpu
