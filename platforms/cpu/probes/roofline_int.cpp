// Integer peak kernels: int8 (u8 x s8 -> s32) and int16 (s16 x s16 -> s32) dot products, with
// VNNI where the CPU has it (one instruction per 4 or 2 multiply-adds per lane) and the
// pre-VNNI sequences otherwise. Rates count 2 ops per multiply-add, like FLOPs.
#include <immintrin.h>

#include "platforms/cpu/probes/roofline_round.hpp"

namespace paradnn::cpu {

namespace {

constexpr int kZmmAcc = 16;
constexpr int kYmmAcc = 12;
// Operands 3 (u8 or s16) and -2 (s8 or s16): each product is -6. Accumulator k starts at k.
constexpr int32_t kA = 3, kB = -2;

// Tells the compiler `v` may have changed, so a multiply of loop-invariant operands is redone
// every time rather than hoisted out of the loop (it costs no instruction).
template <typename V>
inline __attribute__((always_inline)) void refresh(V& v) {
  asm volatile("" : "+v"(v));
}

// Sum of the 32-bit lanes of one register; by value, so the accumulators stay in registers.
__attribute__((target("avx512f"))) double lane_sum(__m512i v) {
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, v);
  double sum = 0;
  for (int32_t x : lanes) sum += x;
  return sum;
}

__attribute__((target("avx"))) double lane_sum(__m256i v) {
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
  double sum = 0;
  for (int32_t x : lanes) sum += x;
  return sum;
}

template <typename V, int N>
inline __attribute__((always_inline)) double sum_lanes(const V (&acc)[N]) {
  double sum = 0;
#pragma GCC unroll 16
  for (int k = 0; k < N; ++k) sum += lane_sum(acc[k]);
  return sum;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) double round_int8_avx512_vnni(int64_t steps) {
  const __m512i a = _mm512_set1_epi8(static_cast<char>(opaque_i32(kA)));
  const __m512i b = _mm512_set1_epi8(static_cast<char>(opaque_i32(kB)));
  __m512i acc[kZmmAcc];
  for (int k = 0; k < kZmmAcc; ++k) acc[k] = _mm512_set1_epi32(k);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 16
    for (int k = 0; k < kZmmAcc; ++k) acc[k] = _mm512_dpbusd_epi32(acc[k], a, b);
  }
  return sum_lanes(acc);
}

__attribute__((target("avx2,avxvnni"))) double round_int8_avx_vnni(int64_t steps) {
  const __m256i a = _mm256_set1_epi8(static_cast<char>(opaque_i32(kA)));
  const __m256i b = _mm256_set1_epi8(static_cast<char>(opaque_i32(kB)));
  __m256i acc[kYmmAcc];
  for (int k = 0; k < kYmmAcc; ++k) acc[k] = _mm256_set1_epi32(k);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 12
    for (int k = 0; k < kYmmAcc; ++k) acc[k] = _mm256_dpbusd_avx_epi32(acc[k], a, b);
  }
  return sum_lanes(acc);
}

// Pre-VNNI int8: u8 x s8 pairs into s16 (vpmaddubsw), s16 pairs into s32 (vpmaddwd by 1), add.
__attribute__((target("avx2"))) double round_int8_avx2(int64_t steps) {
  __m256i a = _mm256_set1_epi8(static_cast<char>(opaque_i32(kA)));
  const __m256i b = _mm256_set1_epi8(static_cast<char>(opaque_i32(kB)));
  const __m256i ones = _mm256_set1_epi16(static_cast<short>(opaque_i32(1)));
  __m256i acc[kYmmAcc];
  for (int k = 0; k < kYmmAcc; ++k) acc[k] = _mm256_set1_epi32(k);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 12
    for (int k = 0; k < kYmmAcc; ++k) {
      refresh(a);
      acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    }
  }
  return sum_lanes(acc);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) double round_int16_avx512_vnni(int64_t steps) {
  const __m512i a = _mm512_set1_epi16(static_cast<short>(opaque_i32(kA)));
  const __m512i b = _mm512_set1_epi16(static_cast<short>(opaque_i32(kB)));
  __m512i acc[kZmmAcc];
  for (int k = 0; k < kZmmAcc; ++k) acc[k] = _mm512_set1_epi32(k);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 16
    for (int k = 0; k < kZmmAcc; ++k) acc[k] = _mm512_dpwssd_epi32(acc[k], a, b);
  }
  return sum_lanes(acc);
}

__attribute__((target("avx512f,avx512bw"))) double round_int16_avx512(int64_t steps) {
  __m512i a = _mm512_set1_epi16(static_cast<short>(opaque_i32(kA)));
  const __m512i b = _mm512_set1_epi16(static_cast<short>(opaque_i32(kB)));
  __m512i acc[kZmmAcc];
  for (int k = 0; k < kZmmAcc; ++k) acc[k] = _mm512_set1_epi32(k);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 16
    for (int k = 0; k < kZmmAcc; ++k) {
      refresh(a);
      acc[k] = _mm512_add_epi32(acc[k], _mm512_madd_epi16(a, b));
    }
  }
  return sum_lanes(acc);
}

__attribute__((target("avx2"))) double round_int16_avx2(int64_t steps) {
  __m256i a = _mm256_set1_epi16(static_cast<short>(opaque_i32(kA)));
  const __m256i b = _mm256_set1_epi16(static_cast<short>(opaque_i32(kB)));
  __m256i acc[kYmmAcc];
  for (int k = 0; k < kYmmAcc; ++k) acc[k] = _mm256_set1_epi32(k);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 12
    for (int k = 0; k < kYmmAcc; ++k) {
      refresh(a);
      acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(a, b));
    }
  }
  return sum_lanes(acc);
}

// Per lane and instruction: int8 does 4 products (-24), int16 does 2 (-12).
constexpr double kInt8Delta = 4.0 * kA * kB, kInt16Delta = 2.0 * kA * kB;

}  // namespace

KernelOutcome dot_int8_avx512_vnni(int64_t steps) {
  return run_rounds(steps, {kZmmAcc, 16, 1, kInt8Delta, kZmmAcc * 64 * 2.0}, round_int8_avx512_vnni);
}
KernelOutcome dot_int8_avx_vnni(int64_t steps) {
  return run_rounds(steps, {kYmmAcc, 8, 1, kInt8Delta, kYmmAcc * 32 * 2.0}, round_int8_avx_vnni);
}
KernelOutcome dot_int8_avx2(int64_t steps) {
  return run_rounds(steps, {kYmmAcc, 8, 1, kInt8Delta, kYmmAcc * 32 * 2.0}, round_int8_avx2);
}
KernelOutcome dot_int16_avx512_vnni(int64_t steps) {
  return run_rounds(steps, {kZmmAcc, 16, 1, kInt16Delta, kZmmAcc * 32 * 2.0}, round_int16_avx512_vnni);
}
KernelOutcome dot_int16_avx512(int64_t steps) {
  return run_rounds(steps, {kZmmAcc, 16, 1, kInt16Delta, kZmmAcc * 32 * 2.0}, round_int16_avx512);
}
KernelOutcome dot_int16_avx2(int64_t steps) {
  return run_rounds(steps, {kYmmAcc, 8, 1, kInt16Delta, kYmmAcc * 16 * 2.0}, round_int16_avx2);
}

}  // namespace paradnn::cpu
