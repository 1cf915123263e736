// What CPU this is: model, topology (hwloc), the ISA oneDNN dispatches to, and memory.
#pragma once
#include <string>

#include "platforms/backend.hpp"

namespace paradnn::cpu {

// The instruction sets the silicon has (cpuid), whatever oneDNN's cap: paradnn's own
// intrinsics kernels (roofline probe, lowp GEMMs) run on these.
struct CpuidFlags {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false;
  bool avx512_vnni = false, avx512_bf16 = false;
  bool avx_vnni = false;  // VEX-encoded VNNI on ymm (AVX-VNNI)
  // AMX, CPUID.(EAX=7,ECX=0):EDX bits 24 (TILE), 22 (BF16), 25 (INT8). Linux also needs the
  // process to ask for the tile state (amx_permission() in roofline_kernels.hpp).
  bool amx_tile = false, amx_bf16 = false, amx_int8 = false;
};

struct CpuFeatures {
  // oneDNN's view: its effective ISA, which ONEDNN_MAX_CPU_ISA can cap.
  std::string isa;     // oneDNN's effective ISA name, e.g. avx512_core_amx
  bool avx2 = false, avx512 = false;
  bool bf16 = false;   // native bf16 dot products (avx512_bf16 or AMX)
  bool vnni = false;   // int8 dot products (AVX512-VNNI or AVX-VNNI)
  bool amx = false;
  CpuidFlags cpuid;    // the silicon's view, never capped
};

// The one CPU probe: oneDNN's ISA and the cpuid flags.
CpuFeatures cpu_features();
PlatformInfo cpu_platform();
int physical_cores();
double available_memory_bytes();  // MemAvailable, and under `ulimit -v` the address space left
std::string cpu_model_name();

// Reason a dtype cannot run natively on this CPU, or empty when it can.
std::string dtype_unsupported_reason(DType t, const CpuFeatures& f);

}  // namespace paradnn::cpu
