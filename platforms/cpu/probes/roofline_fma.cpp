// Floating-point peak kernels: f32 FMA (AVX-512 and AVX2) and bf16 dot products (AVX512-BF16).
// Each is compiled for its ISA with a target attribute, so the build runs on any x86-64 and
// the probe picks what the CPU has at run time.
#include <immintrin.h>

#include "platforms/cpu/probes/roofline_round.hpp"

namespace paradnn::cpu {

namespace {

// 2 FMA ports x 4-cycle latency = 8 chains in flight; 16 leaves headroom (and 32 zmm exist).
constexpr int kZmmAcc = 16;
// 16 ymm registers: 12 chains plus the two operands.
constexpr int kYmmAcc = 12;

// Each lane adds 2^-20 per step: 2^20 steps from k/4 stay exact in f32 (< 8, 20 fraction bits).
constexpr float kStartStep = 0.25f;
constexpr float kDelta = 0x1p-20f;

// Sum of the lanes of one register, stored and added (GCC 12's _mm512_reduce_add_ps warns
// spuriously). Taking registers by value keeps the accumulator arrays out of memory.
__attribute__((target("avx512f"))) double lane_sum(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  double sum = 0;
  for (float x : lanes) sum += x;
  return sum;
}

__attribute__((target("avx"))) double lane_sum(__m256 v) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  double sum = 0;
  for (float x : lanes) sum += x;
  return sum;
}

__attribute__((target("avx512f"))) double round_f32_avx512(int64_t steps) {
  const __m512 one = _mm512_set1_ps(opaque_f32(1.0f));
  const __m512 inc = _mm512_set1_ps(opaque_f32(kDelta));
  __m512 acc[kZmmAcc];
  for (int k = 0; k < kZmmAcc; ++k) acc[k] = _mm512_set1_ps(kStartStep * k);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 16
    for (int k = 0; k < kZmmAcc; ++k) acc[k] = _mm512_fmadd_ps(acc[k], one, inc);
  }
  double sum = 0;
#pragma GCC unroll 16
  for (int k = 0; k < kZmmAcc; ++k) sum += lane_sum(acc[k]);
  return sum;
}

__attribute__((target("avx2,fma"))) double round_f32_avx2(int64_t steps) {
  const __m256 one = _mm256_set1_ps(opaque_f32(1.0f));
  const __m256 inc = _mm256_set1_ps(opaque_f32(kDelta));
  __m256 acc[kYmmAcc];
  for (int k = 0; k < kYmmAcc; ++k) acc[k] = _mm256_set1_ps(kStartStep * k);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 12
    for (int k = 0; k < kYmmAcc; ++k) acc[k] = _mm256_fmadd_ps(acc[k], one, inc);
  }
  double sum = 0;
#pragma GCC unroll 12
  for (int k = 0; k < kYmmAcc; ++k) sum += lane_sum(acc[k]);
  return sum;
}

// vdpbf16ps adds a[2i]*b[2i] + a[2i+1]*b[2i+1] to f32 lane i: with a = 1 and b = 2^-21 in
// bf16 that is 2^-20 per lane, the same exact chain as the f32 kernel.
__attribute__((target("avx512f,avx512bf16"))) double round_bf16_avx512(int64_t steps) {
  const uint16_t one_bf16 = 0x3F80, tiny_bf16 = 0x3500;  // 1.0 and 2^-21
  const __m512bh a = (__m512bh)_mm512_set1_epi16(static_cast<short>(opaque_i32(one_bf16)));
  const __m512bh b = (__m512bh)_mm512_set1_epi16(static_cast<short>(opaque_i32(tiny_bf16)));
  __m512 acc[kZmmAcc];
  for (int k = 0; k < kZmmAcc; ++k) acc[k] = _mm512_set1_ps(kStartStep * k);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 16
    for (int k = 0; k < kZmmAcc; ++k) acc[k] = _mm512_dpbf16_ps(acc[k], a, b);
  }
  double sum = 0;
#pragma GCC unroll 16
  for (int k = 0; k < kZmmAcc; ++k) sum += lane_sum(acc[k]);
  return sum;
}

}  // namespace

KernelOutcome fma_f32_avx512(int64_t steps) {
  return run_rounds(steps, {kZmmAcc, 16, kStartStep, kDelta, kZmmAcc * 16 * 2.0}, round_f32_avx512);
}

KernelOutcome fma_f32_avx2(int64_t steps) {
  return run_rounds(steps, {kYmmAcc, 8, kStartStep, kDelta, kYmmAcc * 8 * 2.0}, round_f32_avx2);
}

KernelOutcome dot_bf16_avx512(int64_t steps) {
  // 32 bf16 pair products per instruction, 2 FLOPs each.
  return run_rounds(steps, {kZmmAcc, 16, kStartStep, 2 * 0x1p-21, kZmmAcc * 32 * 2.0}, round_bf16_avx512);
}

}  // namespace paradnn::cpu
