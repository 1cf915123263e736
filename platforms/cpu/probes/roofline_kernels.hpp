// Hand-written compute kernels that issue one kind of multiply-add back to back, with enough
// independent accumulators to cover the instruction's latency on every port that executes it,
// so they reach the core's issue rate (the Empirical Roofline Toolkit's method).
//
// Every kernel computes a known value: accumulators start at known numbers, each instruction
// adds an exactly representable amount, and the sum of the final accumulators must equal a
// closed form. That proves the instructions ran (the compiler cannot delete them: the inputs
// come from volatile reads) and that they did what the kernel claims.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "platforms/cpu/probes/cpu_platform.hpp"

namespace paradnn::cpu {

struct KernelOutcome {
  double ops = 0;       // FLOPs (or integer ops: 2 per multiply-add) executed
  double result = 0;    // sum of the final accumulators
  double expected = 0;  // the closed form `result` must equal exactly
};

using KernelFn = KernelOutcome (*)(int64_t steps);

struct ComputeKernel {
  std::string dtype;        // f32, bf16, int8, int16
  std::string name;         // instruction and width, e.g. "vfmadd231ps zmm"
  KernelFn run = nullptr;
  bool runs_here = false;   // this CPU has the instructions (independent of oneDNN's ISA cap)
  // The platform-file row's method, naming the unit: "fma_kernel" (AVX-512/AVX2 FMA, VNNI,
  // dot-product instructions on vector registers) or "amx_kernel" (AMX tile instructions).
  std::string method = "fma_kernel";
};

// Every kernel built into paradnn, best first within a dtype; runs_here says which this CPU has.
std::vector<ComputeKernel> all_compute_kernels();
// The best kernel per dtype for this CPU, chosen from oneDNN's view of the ISA (so a capped
// ISA, ONEDNN_MAX_CPU_ISA, caps the probe too) and the CPU's own feature flags.
std::vector<ComputeKernel> compute_kernels(const CpuFeatures& f);

// Runs `steps` steps and throws std::runtime_error if the result is not the closed form.
double run_checked(const ComputeKernel& k, int64_t steps);

// The vector kernels (defined in roofline_fma.cpp and roofline_int.cpp). A step is one instruction
// per accumulator; any number of steps is exact (they reset every 2^20 steps).
KernelOutcome fma_f32_avx512(int64_t steps);   // vfmadd231ps zmm, 16 accumulators
KernelOutcome fma_f32_avx2(int64_t steps);     // vfmadd231ps ymm, 12 accumulators
KernelOutcome dot_bf16_avx512(int64_t steps);  // vdpbf16ps zmm, 16 accumulators
KernelOutcome dot_int8_avx512_vnni(int64_t steps);  // vpdpbusd zmm
KernelOutcome dot_int8_avx_vnni(int64_t steps);     // vpdpbusd ymm (AVX-VNNI)
KernelOutcome dot_int8_avx2(int64_t steps);         // vpmaddubsw + vpmaddwd + vpaddd ymm
KernelOutcome dot_int16_avx512_vnni(int64_t steps); // vpdpwssd zmm
KernelOutcome dot_int16_avx512(int64_t steps);      // vpmaddwd + vpaddd zmm
KernelOutcome dot_int16_avx2(int64_t steps);        // vpmaddwd + vpaddd ymm

// AMX (roofline_amx.cpp). Tiles tmm0-3 accumulate, tmm4-5 hold A and tmm6-7 hold B (2x2
// blocking, as oneDNN's AMX GEMMs do), all 16 rows x 64 bytes; a step is 4 tile products.
// Any number of steps is exact (bf16 resets every 2^15 steps, int8 every 2^20). Call only
// where amx_unavailable_reason(dtype) is empty: elsewhere the first tile instruction faults.
KernelOutcome dot_bf16_amx(int64_t steps);  // tdpbf16ps: 16x16 f32 += 16x32 bf16 . 32x16 bf16
KernelOutcome dot_int8_amx(int64_t steps);  // tdpbusd: 16x16 s32 += 16x64 u8 . 64x16 s8

// Asks Linux once per process for the AMX tile state (arch_prctl(ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA), without which the first tile instruction faults). Empty when granted,
// else why not: the CPU has no AMX-TILE (cpuid), or the kernel refused (its errno).
std::string amx_permission();
// Why the AMX kernel for `dtype` ("bf16" or "int8") cannot run here, or empty when it can.
std::string amx_unavailable_reason(const std::string& dtype);

// One tile product each, for checking AMX against a scalar loop: C = A . B from C = 0, with A
// row-major M x K and B row-major K x N (packed here into the VNNI layout the tile expects).
// bf16: A 16x32, B 32x16 (bf16 bit patterns), C 16x16 f32. int8: A 16x64 u8, B 64x16 s8,
// C 16x16 s32. Throw std::runtime_error with the reason where AMX cannot run.
std::vector<float> amx_tile_product_bf16(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b);
std::vector<int32_t> amx_tile_product_int8(const std::vector<uint8_t>& a, const std::vector<int8_t>& b);

// Steps between accumulator resets: 2^20 increments of 2^-20 keep every f32 value exact.
constexpr int64_t kStepsPerRound = int64_t{1} << 20;

}  // namespace paradnn::cpu
