#include "platforms/cpu/lowp/dfp.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace paradnn::cpu::lowp {

namespace {

// Built for the baseline ISA, the scalar loops below call libm's nearbyintf per element and
// do not vectorize: AVX-512 versions, chosen at run time (has_avx512bw), do 16 elements per
// instruction.

// GCC 12's AVX-512 headers pass _mm512_undefined_*() to the builtins and warn about it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

__attribute__((target("avx512f"))) float abs_max_avx512(const float* x, size_t n) {
  __m512 m = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
  float r = _mm512_reduce_max_ps(m);
  for (; i < n; ++i) r = std::max(r, std::fabs(x[i]));
  return r;
}

// 16 values: m = max(m, |x|), and x / step rounded to nearest even (cvtps, the default mode,
// as nearbyint) as int32 lanes; clamping first keeps out-of-range values at +-32767.
__attribute__((target("avx512f"))) inline __m512i quantize16(__m512 x, __m512 inv_step, __m512& m) {
  m = _mm512_max_ps(m, _mm512_abs_ps(x));
  const __m512 lo = _mm512_set1_ps(-float(kDfp16Max)), hi = _mm512_set1_ps(float(kDfp16Max));
  return _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(x, inv_step), lo), hi));
}

__attribute__((target("avx512f"))) inline float lanes_max(__m512 m) {
  alignas(64) float lanes[16];  // (GCC 12's _mm512_reduce_max_ps warns of an uninitialized value)
  _mm512_store_ps(lanes, m);
  return *std::max_element(lanes, lanes + 16);
}

// The quantized values and max |x| (of the unscaled input) in one pass.
__attribute__((target("avx512f,avx512bw"))) float quantize_max_avx512(const float* x, size_t n, float inv_step, int16_t* q) {
  const __m512 s = _mm512_set1_ps(inv_step);
  __m512 m = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    _mm512_mask_cvtepi32_storeu_epi16(q + i, k, quantize16(_mm512_maskz_loadu_ps(k, x + i), s, m));
  }
  return lanes_max(m);
}

__attribute__((target("avx512f,avx512bw"))) float quantize_max_blocked_avx512(const float* x, int blocks, size_t block_stride,
                                                                            int pixels, float inv_step, int16_t* q, size_t q_stride) {
  const __m512 s = _mm512_set1_ps(inv_step);
  __m512 m = _mm512_setzero_ps();
  for (int p = 0; p < pixels; ++p)
    for (int b = 0; b < blocks; ++b) {
      const __m512i v = quantize16(_mm512_loadu_ps(x + b * block_stride + size_t(p) * 16), s, m);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + p * q_stride + 16 * b), _mm512_cvtepi32_epi16(v));
    }
  return lanes_max(m);
}

#pragma GCC diagnostic pop

// Runs f(begin, count) on one contiguous chunk per OpenMP thread.
template <typename F>
void in_chunks(size_t n, F f) {
#pragma omp parallel
  {
    const size_t t = omp_get_thread_num(), parts = omp_get_num_threads();
    const size_t begin = n * t / parts, end = n * (t + 1) / parts;
    if (end > begin) f(begin, end - begin);
  }
}

}  // namespace

int dfp_exponent_for_max(float amax, int qmax) {
  if (amax == 0 || !std::isfinite(amax)) return 0;
  int e = static_cast<int>(std::ceil(std::log2(amax / qmax)));
  while (std::ldexp(amax, -e) > qmax) ++e;  // log2's rounding
  while (std::ldexp(amax, -(e - 1)) <= qmax) --e;
  return e;
}

int dfp_qmax_of(float amax, int exponent) {
  return std::isfinite(amax) ? int(std::min(std::nearbyint(std::ldexp(amax, -exponent)), float(kDfp16Max))) : kDfp16Max;
}

float dfp_quantize_max(const float* x, size_t n, int exponent, int16_t* q) {
  const float inv_step = std::ldexp(1.0f, -exponent);
  if (has_avx512bw()) return quantize_max_avx512(x, n, inv_step, q);
  float m = 0;
  for (size_t i = 0; i < n; ++i) {
    m = std::max(m, std::fabs(x[i]));
    q[i] = static_cast<int16_t>(std::clamp(std::nearbyint(x[i] * inv_step), -float(kDfp16Max), float(kDfp16Max)));
  }
  return m;
}

float dfp_quantize_max_blocked(const float* x, int blocks, size_t block_stride, int pixels, int exponent, int16_t* q,
                               size_t q_stride) {
  if (has_avx512bw()) return quantize_max_blocked_avx512(x, blocks, block_stride, pixels, std::ldexp(1.0f, -exponent), q, q_stride);
  float m = 0;
  for (int p = 0; p < pixels; ++p)
    for (int b = 0; b < blocks; ++b)
      m = std::max(m, dfp_quantize_max(x + b * block_stride + size_t(p) * 16, 16, exponent, q + p * q_stride + 16 * b));
  return m;
}

int dfp_exponent(const float* x, size_t n, int qmax) {
  float amax = 0;
  if (has_avx512bw()) {
    std::vector<float> part(omp_get_max_threads(), 0.0f);
    in_chunks(n, [&](size_t b, size_t c) { part[omp_get_thread_num()] = abs_max_avx512(x + b, c); });
    for (float p : part) amax = std::max(amax, p);
  } else {
#pragma omp parallel for reduction(max : amax) schedule(static)
    for (size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  }
  return dfp_exponent_for_max(amax, qmax);
}

int dfp_quantize(const float* x, size_t n, int exponent, int16_t* q) {
  in_chunks(n, [&](size_t b, size_t c) { dfp_quantize_max(x + b, c, exponent, q + b); });
  return exponent;
}

int dfp_quantize(const float* x, size_t n, int16_t* q) { return dfp_quantize(x, n, dfp_exponent(x, n), q); }

void dfp_dequantize(const int16_t* q, size_t n, int exponent, float* x) {
  const float step = std::ldexp(1.0f, exponent);
  for (size_t i = 0; i < n; ++i) x[i] = step * q[i];
}

void DfpTensor::quantize(const float* x, size_t n, int qmax_wanted) {
  q.resize(n);
  std::vector<float> part(omp_get_max_threads(), 0.0f);
  dfp_quantize_speculating(exponent, qmax, qmax_wanted, [&](int e) {
    in_chunks(n, [&](size_t b, size_t c) { part[omp_get_thread_num()] = dfp_quantize_max(x + b, c, e, q.data() + b); });
    return *std::max_element(part.begin(), part.end());
  });
}

void dfp_gemm(bool ta, bool tb, int m, int n, int k, const DfpTensor& a, const DfpTensor& b, float* c, IntIsa isa) {
  // The stored row length is op's column count, or its row count when transposed.
  gemm_s16s16f32({ta, tb, m, n, k, ta ? m : k, tb ? k : n, n}, a.q.data(), b.q.data(), std::ldexp(1.0f, a.exponent + b.exponent),
                 c, isa, a.qmax, b.qmax);
}

}  // namespace paradnn::cpu::lowp
