#include "platforms/cpu/lowp/hadamard4.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "platforms/cpu/lowp/hadamard.hpp"

namespace paradnn::cpu::lowp {

namespace {

int nibble_value(unsigned nib) { return nib >= 8 ? int(nib) - 16 : int(nib); }

// kLut.t[na][nb] = value(na) * value(nb): the 16-byte table vpshufb looks a's products up in.
struct ProductLut {
  alignas(64) int8_t t[16][16];
  ProductLut() {
    for (unsigned na = 0; na < 16; ++na)
      for (unsigned nb = 0; nb < 16; ++nb) t[na][nb] = int8_t(nibble_value(na) * nibble_value(nb));
  }
};
const ProductLut kLut;

// A counter-based uniform in [0, 1) for stochastic rounding: Wellons' lowbias32 hash of
// (seed, index), 32-bit arithmetic so the loops that call it vectorize.
inline uint32_t seed32(uint64_t seed) {
  uint64_t z = (seed + 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
  return uint32_t(z ^ (z >> 31) ^ (z >> 47));
}
inline float uniform01(uint32_t seed, uint32_t index) {
  uint32_t x = seed ^ (index * 0x9E3779B9u);
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return float(int32_t(x >> 8)) * (1.0f / 16777216.0f);
}

// Round to nearest even for |v| < 2^22 without a library call (vectorizes): adding and
// subtracting 1.5 * 2^23 leaves the rounded value.
inline float round_even(float v) {
  constexpr float kMagic = 12582912.0f;
  return (v + kMagic) - kMagic;
}

inline float clamp7(float v) {
  constexpr float lim = float(kS4Max);
  const float lo = v < -lim ? -lim : v;
  return lo > lim ? lim : lo;
}

// x[i] * inv[i] (PerElement) or x[i] * inv[0] quantized to [-7, 7] for n values: round to
// nearest, or stochastically with the generator's element index first + i.
template <bool PerElement>
void quantize_span(const float* x, const float* inv, Rounding r, uint32_t seed, uint32_t first, int n, int8_t* q) {
  if (r == Rounding::nearest) {
#pragma omp simd
    for (int i = 0; i < n; ++i) q[i] = int8_t(clamp7(round_even(x[i] * inv[PerElement ? i : 0])));
  } else {
#pragma omp simd
    for (int i = 0; i < n; ++i) {
      // floor(w) by truncating w + 8 >= 0 (|x * inv| <= 7 up to rounding, u < 1), then clamped.
      const float w = x[i] * inv[PerElement ? i : 0] + uniform01(seed, first + uint32_t(i));
      int f = int(w + 8.0f) - 8;
      f = f < -kS4Max ? -kS4Max : f;
      q[i] = int8_t(f > kS4Max ? kS4Max : f);
    }
  }
}

// B side: byte row q, column j lies in column panel j / 64, whose kb byte rows of 64 are
// contiguous (a panel strided by n would map its rows onto a few L1 sets).
inline size_t b_offset(int q, int j, int kb) {
  return (size_t(j / kS4PanelCols) * kb + q) * kS4PanelCols + j % kS4PanelCols;
}

uint8_t pack_pair(int8_t lo, int8_t hi) { return uint8_t((uint8_t(lo) & 0x0f) | ((uint8_t(hi) & 0x0f) << 4)); }

int checked_max_abs(const int8_t* q, size_t n) {
  int m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(int(q[i])));
  if (m > kS4Max) throw std::invalid_argument("4-bit packing: values must lie in [-7, 7]");
  return m;
}

// ---- micro-kernels: rows x (64 or 32) int32 sums into `out` (row stride 64, pre-zeroed) ----
// a: the block's first row (stride lda bytes); b: the panel's first column of byte row 0
// (stride ldb). Every `pairs_per_tile` byte pairs (2 products each) the int8 tile is widened
// into int16 (even and odd byte lanes apart: columns 2w and 2w + 1), every `tiles_per_flush`
// tiles the int16 sums are added into out. Returns the overflowed lanes (when Checked).

// The 16-byte tables are broadcast with maskz_broadcast (all lanes: the plain intrinsic's
// undefined pass-through vector draws GCC 12's maybe-uninitialized warning).
// (x ^ s) & (y ^ s): sign bit set where s = x + y wrapped (vpternlog 0x42).
constexpr int kOverflowLogic = 0x42;

template <int R, bool Checked>
__attribute__((target("avx512f,avx512bw"))) int64_t micro_avx512(const uint8_t* a, int lda, const uint8_t* b, int ldb, int kb,
                                                                  int pairs_per_tile, int tiles_per_flush, int32_t* out) {
  const __m512i nib = _mm512_set1_epi8(0x0f);
  __m512i ov8 = _mm512_setzero_si512(), ov16 = _mm512_setzero_si512();
  int q = 0;
  while (q < kb) {
    __m512i even[R], odd[R];
    for (int r = 0; r < R; ++r) even[r] = odd[r] = _mm512_setzero_si512();
    const int flush_end = std::min(kb, q + tiles_per_flush * pairs_per_tile);
    while (q < flush_end) {
      const int tile_end = std::min(flush_end, q + pairs_per_tile);
      __m512i t8[R];
      for (int r = 0; r < R; ++r) t8[r] = _mm512_setzero_si512();
      for (; q < tile_end; ++q) {
        const __m512i bb = _mm512_loadu_si512(b + size_t(q) * ldb);
        const __m512i lo = _mm512_and_si512(bb, nib), hi = _mm512_and_si512(_mm512_srli_epi16(bb, 4), nib);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const unsigned ab = a[size_t(r) * lda + q];
          const __m512i p0 = _mm512_shuffle_epi8(_mm512_maskz_broadcast_i32x4(0xffff, _mm_load_si128(reinterpret_cast<const __m128i*>(kLut.t[ab & 15]))), lo);
          const __m512i p1 = _mm512_shuffle_epi8(_mm512_maskz_broadcast_i32x4(0xffff, _mm_load_si128(reinterpret_cast<const __m128i*>(kLut.t[ab >> 4]))), hi);
          if constexpr (Checked) {
            const __m512i s0 = _mm512_add_epi8(t8[r], p0);
            ov8 = _mm512_or_si512(ov8, _mm512_ternarylogic_epi32(t8[r], p0, s0, kOverflowLogic));
            const __m512i s1 = _mm512_add_epi8(s0, p1);
            ov8 = _mm512_or_si512(ov8, _mm512_ternarylogic_epi32(s0, p1, s1, kOverflowLogic));
            t8[r] = s1;
          } else {
            t8[r] = _mm512_add_epi8(t8[r], _mm512_add_epi8(p0, p1));
          }
        }
      }
      // Widen in-lane: even bytes by shifting left then arithmetic right, odd bytes by the right shift.
      for (int r = 0; r < R; ++r) {
        const __m512i e = _mm512_srai_epi16(_mm512_slli_epi16(t8[r], 8), 8), o = _mm512_srai_epi16(t8[r], 8);
        const __m512i se = _mm512_add_epi16(even[r], e), so = _mm512_add_epi16(odd[r], o);
        if constexpr (Checked) {
          ov16 = _mm512_or_si512(ov16, _mm512_ternarylogic_epi32(even[r], e, se, kOverflowLogic));
          ov16 = _mm512_or_si512(ov16, _mm512_ternarylogic_epi32(odd[r], o, so, kOverflowLogic));
        }
        even[r] = se;
        odd[r] = so;
      }
    }
    for (int r = 0; r < R; ++r) {
      alignas(64) int16_t e[32], o[32];
      _mm512_store_si512(e, even[r]);
      _mm512_store_si512(o, odd[r]);
      int32_t* row = out + r * 64;
      for (int w = 0; w < 32; ++w) {
        row[2 * w] += e[w];
        row[2 * w + 1] += o[w];
      }
    }
  }
  if constexpr (Checked)
    return __builtin_popcountll(_mm512_movepi8_mask(ov8)) + __builtin_popcount(_mm512_movepi16_mask(ov16));
  return 0;
}

// The full-scale case (tiles of one byte pair, T = 2) without the overflow check, fewer
// instructions: the int16 lane of an int8 tile holds the odd column's sum in its high byte
// and the even column's in its low byte. XOR 0x80 turns the low byte into offset binary
// (e + 128), so the lane read as an integer is 256 o + e + 128 (mod 2^16): summing lanes
// (vpaddw, wrapping) and, apart, the odd bytes (vpsraw 8) gives the even sums at the flush as
// raw - 256 odd - 128 tiles (mod 2^16), exact since |even sum| <= 32767 by the same bound.
// 7 vector operations per row and byte pair (1 shift) instead of 9 (3 shifts).
template <int R>
__attribute__((target("avx512f,avx512bw"))) int64_t micro_avx512_pairs(const uint8_t* a, int lda, const uint8_t* b, int ldb,
                                                                        int kb, int /*pairs_per_tile*/, int tiles_per_flush,
                                                                        int32_t* out) {
  const __m512i nib = _mm512_set1_epi8(0x0f), bias = _mm512_set1_epi16(0x0080);
  int q = 0;
  while (q < kb) {
    __m512i raw[R], odd[R];
    for (int r = 0; r < R; ++r) raw[r] = odd[r] = _mm512_setzero_si512();
    const int end = std::min(kb, q + tiles_per_flush), tiles = end - q;
    for (; q < end; ++q) {
      const __m512i bb = _mm512_loadu_si512(b + size_t(q) * ldb);
      const __m512i lo = _mm512_and_si512(bb, nib), hi = _mm512_and_si512(_mm512_srli_epi16(bb, 4), nib);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const unsigned ab = a[size_t(r) * lda + q];
        const __m512i p0 = _mm512_shuffle_epi8(_mm512_maskz_broadcast_i32x4(0xffff, _mm_load_si128(reinterpret_cast<const __m128i*>(kLut.t[ab & 15]))), lo);
        const __m512i p1 = _mm512_shuffle_epi8(_mm512_maskz_broadcast_i32x4(0xffff, _mm_load_si128(reinterpret_cast<const __m128i*>(kLut.t[ab >> 4]))), hi);
        const __m512i t8 = _mm512_add_epi8(p0, p1);  // the int8 tile: two products
        raw[r] = _mm512_add_epi16(raw[r], _mm512_xor_si512(t8, bias));
        odd[r] = _mm512_add_epi16(odd[r], _mm512_srai_epi16(t8, 8));
      }
    }
    const __m512i offset = _mm512_set1_epi16(int16_t(uint16_t(128u * unsigned(tiles))));
    for (int r = 0; r < R; ++r) {
      alignas(64) int16_t e[32], o[32];
      _mm512_store_si512(e, _mm512_sub_epi16(_mm512_sub_epi16(raw[r], _mm512_slli_epi16(odd[r], 8)), offset));
      _mm512_store_si512(o, odd[r]);
      int32_t* row = out + r * 64;
      for (int w = 0; w < 32; ++w) {
        row[2 * w] += e[w];
        row[2 * w + 1] += o[w];
      }
    }
  }
  return 0;
}

// (x ^ s) & (y ^ s) without vpternlog.
__attribute__((target("avx2"))) inline __m256i overflow(__m256i x, __m256i y, __m256i s) {
  return _mm256_and_si256(_mm256_xor_si256(x, s), _mm256_xor_si256(y, s));
}

template <int R, bool Checked>
__attribute__((target("avx2"))) int64_t micro_avx2(const uint8_t* a, int lda, const uint8_t* b, int ldb, int kb,
                                                   int pairs_per_tile, int tiles_per_flush, int32_t* out) {
  const __m256i nib = _mm256_set1_epi8(0x0f);
  __m256i ov8 = _mm256_setzero_si256(), ov16 = _mm256_setzero_si256();
  int q = 0;
  while (q < kb) {
    __m256i even[R], odd[R];
    for (int r = 0; r < R; ++r) even[r] = odd[r] = _mm256_setzero_si256();
    const int flush_end = std::min(kb, q + tiles_per_flush * pairs_per_tile);
    while (q < flush_end) {
      const int tile_end = std::min(flush_end, q + pairs_per_tile);
      __m256i t8[R];
      for (int r = 0; r < R; ++r) t8[r] = _mm256_setzero_si256();
      for (; q < tile_end; ++q) {
        const __m256i bb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + size_t(q) * ldb));
        const __m256i lo = _mm256_and_si256(bb, nib), hi = _mm256_and_si256(_mm256_srli_epi16(bb, 4), nib);
        for (int r = 0; r < R; ++r) {
          const unsigned ab = a[size_t(r) * lda + q];
          const __m256i p0 = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kLut.t[ab & 15]))), lo);
          const __m256i p1 = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kLut.t[ab >> 4]))), hi);
          if constexpr (Checked) {
            const __m256i s0 = _mm256_add_epi8(t8[r], p0);
            ov8 = _mm256_or_si256(ov8, overflow(t8[r], p0, s0));
            const __m256i s1 = _mm256_add_epi8(s0, p1);
            ov8 = _mm256_or_si256(ov8, overflow(s0, p1, s1));
            t8[r] = s1;
          } else {
            t8[r] = _mm256_add_epi8(t8[r], _mm256_add_epi8(p0, p1));
          }
        }
      }
      for (int r = 0; r < R; ++r) {
        const __m256i e = _mm256_srai_epi16(_mm256_slli_epi16(t8[r], 8), 8), o = _mm256_srai_epi16(t8[r], 8);
        const __m256i se = _mm256_add_epi16(even[r], e), so = _mm256_add_epi16(odd[r], o);
        if constexpr (Checked) {
          ov16 = _mm256_or_si256(ov16, overflow(even[r], e, se));
          ov16 = _mm256_or_si256(ov16, overflow(odd[r], o, so));
        }
        even[r] = se;
        odd[r] = so;
      }
    }
    for (int r = 0; r < R; ++r) {
      alignas(32) int16_t e[16], o[16];
      _mm256_store_si256(reinterpret_cast<__m256i*>(e), even[r]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(o), odd[r]);
      int32_t* row = out + r * 64;
      for (int w = 0; w < 16; ++w) {
        row[2 * w] += e[w];
        row[2 * w + 1] += o[w];
      }
    }
  }
  if constexpr (Checked) {
    const __m256i sign16 = _mm256_and_si256(ov16, _mm256_set1_epi16(int16_t(0x8000)));
    return __builtin_popcount(unsigned(_mm256_movemask_epi8(ov8))) + __builtin_popcount(unsigned(_mm256_movemask_epi8(sign16)));
  }
  return 0;
}

// The same arithmetic one lane at a time, wrapping as the hardware would; always counts.
int64_t micro_scalar(const uint8_t* a, int lda, const uint8_t* b, int ldb, int kb, int pairs_per_tile, int tiles_per_flush,
                     int rows, int32_t* out) {
  int64_t overflows = 0;
  auto wrap = [&overflows](int v, int lo, int hi) {
    if (v < lo || v > hi) {
      ++overflows;
      v = lo == -128 ? int(int8_t(v)) : int(int16_t(v));
    }
    return v;
  };
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < 64; ++j) {
      int q = 0;
      while (q < kb) {
        int s16 = 0;
        const int flush_end = std::min(kb, q + tiles_per_flush * pairs_per_tile);
        while (q < flush_end) {
          const int tile_end = std::min(flush_end, q + pairs_per_tile);
          int t8 = 0;
          for (; q < tile_end; ++q) {
            const unsigned ab = a[size_t(r) * lda + q], bb = b[size_t(q) * ldb + j];
            t8 = wrap(t8 + kLut.t[ab & 15][bb & 15], -128, 127);
            t8 = wrap(t8 + kLut.t[ab >> 4][bb >> 4], -128, 127);
          }
          s16 = wrap(s16 + t8, -32768, 32767);
        }
        out[r * 64 + j] += s16;
      }
    }
  return overflows;
}

using Micro = int64_t (*)(const uint8_t*, int, const uint8_t*, int, int, int, int, int32_t*);

template <bool Checked>
Micro avx512_micro(int rows) {
  switch (rows) {
    case 1: return micro_avx512<1, Checked>;
    case 2: return micro_avx512<2, Checked>;
    case 3: return micro_avx512<3, Checked>;
    default: return micro_avx512<4, Checked>;
  }
}

template <bool Checked>
Micro avx2_micro(int rows) {
  return rows == 1 ? micro_avx2<1, Checked> : micro_avx2<2, Checked>;
}

int block_rows(IntIsa isa) { return isa == IntIsa::avx2 ? 2 : 4; }

// One block of `rows` rows and a 64-column panel.
int64_t run_block(IntIsa isa, bool checked, int rows, const uint8_t* a, int lda, const uint8_t* b, int ldb, int kb, int pairs,
                  int flush, int32_t* out) {
  switch (isa) {
    case IntIsa::amx_int8:
    case IntIsa::avx512_vnni:
    case IntIsa::avx512bw: {
      Micro m = checked ? avx512_micro<true>(rows) : avx512_micro<false>(rows);
      if (!checked && pairs == 1) m = rows == 1 ? micro_avx512_pairs<1> : rows == 2 ? micro_avx512_pairs<2> : rows == 3 ? micro_avx512_pairs<3> : micro_avx512_pairs<4>;
      return m(a, lda, b, ldb, kb, pairs, flush, out);
    }
    case IntIsa::avx2: {
      const Micro m = checked ? avx2_micro<true>(rows) : avx2_micro<false>(rows);
      return m(a, lda, b, ldb, kb, pairs, flush, out) + m(a, lda, b + 32, ldb, kb, pairs, flush, out + 32);
    }
    case IntIsa::scalar: return micro_scalar(a, lda, b, ldb, kb, pairs, flush, rows, out);
  }
  return 0;
}

void padded_copy(bool trans, int rows, int cols, int cols_padded, const float* x, std::vector<float>& out) {
  // out (rows x cols_padded) = op(x) (rows x cols), the padding zero; x is cols x rows when trans.
  out.assign(size_t(rows) * cols_padded, 0.0f);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < rows; ++i)
    for (int p = 0; p < cols; ++p) out[size_t(i) * cols_padded + p] = trans ? x[size_t(p) * rows + i] : x[size_t(i) * cols + p];
}

}  // namespace

std::string s4_kernel_name(IntIsa isa) {
  switch (isa) {
    case IntIsa::amx_int8:
    case IntIsa::avx512_vnni:
    case IntIsa::avx512bw: return "avx512bw (vpshufb)";
    case IntIsa::avx2: return "avx2 (vpshufb)";
    case IntIsa::scalar: return "scalar";
  }
  return "scalar";
}

std::string to_string(Rounding r) { return r == Rounding::nearest ? "nearest" : "stochastic"; }

void quantize_rows_s4(const float* a, int m, int k, Rounding r, uint64_t seed, int8_t* q, float* scale) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < m; ++i) {
    const float* row = a + size_t(i) * k;
    float amax = 0;
#pragma omp simd reduction(max : amax)
    for (int p = 0; p < k; ++p) amax = std::max(amax, std::fabs(row[p]));
    scale[i] = amax > 0 ? amax / float(kS4Max) : 1.0f;
    const float inv = amax > 0 ? float(kS4Max) / amax : 1.0f;
    quantize_span<false>(row, &inv, r, seed32(seed), uint32_t(size_t(i) * k), k, q + size_t(i) * k);
  }
}

void quantize_cols_s4(const float* b, int k, int n, Rounding r, uint64_t seed, int8_t* q, float* scale) {
  std::vector<float> amax(n, 0.0f), inv(n);
  float* am = amax.data();
  for (int p = 0; p < k; ++p) {
    const float* row = b + size_t(p) * n;
#pragma omp simd
    for (int j = 0; j < n; ++j) am[j] = std::max(am[j], std::fabs(row[j]));
  }
  for (int j = 0; j < n; ++j) {
    scale[j] = amax[j] > 0 ? amax[j] / float(kS4Max) : 1.0f;
    inv[j] = amax[j] > 0 ? float(kS4Max) / amax[j] : 1.0f;
  }
#pragma omp parallel for schedule(static)
  for (int p = 0; p < k; ++p)
    quantize_span<true>(b + size_t(p) * n, inv.data(), r, seed32(seed), uint32_t(size_t(p) * n), n, q + size_t(p) * n);
}

void pack_a_s4(const int8_t* q, int m, int k, PackedS4& out) {
  out.k = k;
  out.other = m;
  out.ld = out.kb();
  out.max_abs = checked_max_abs(q, size_t(m) * k);
  out.bytes.resize(size_t(m) * out.ld);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < m; ++i) {
    const int8_t* row = q + size_t(i) * k;
    uint8_t* dst = out.bytes.data() + size_t(i) * out.ld;
    for (int p = 0; p < k; p += 2) dst[p / 2] = pack_pair(row[p], p + 1 < k ? row[p + 1] : 0);
  }
}

void pack_b_s4(const int8_t* q, int k, int n, PackedS4& out) {
  out.k = k;
  out.other = n;
  out.ld = (n + kS4PanelCols - 1) / kS4PanelCols * kS4PanelCols;
  out.max_abs = checked_max_abs(q, size_t(k) * n);
  out.bytes.assign(size_t(out.kb()) * out.ld, 0);
  const int kb = out.kb();
#pragma omp parallel for schedule(static)
  for (int p2 = 0; p2 < kb; ++p2) {
    const int8_t* r0 = q + size_t(2 * p2) * n;
    const int8_t* r1 = 2 * p2 + 1 < k ? r0 + n : nullptr;
    for (int j = 0; j < n; ++j) out.bytes[b_offset(p2, j, kb)] = pack_pair(r0[j], r1 ? r1[j] : 0);
  }
}

PackedS4 pack_a_s4(const int8_t* q, int m, int k) {
  PackedS4 p;
  pack_a_s4(q, m, k, p);
  return p;
}

PackedS4 pack_b_s4(const int8_t* q, int k, int n) {
  PackedS4 p;
  pack_b_s4(q, k, n, p);
  return p;
}

std::vector<int8_t> unpack_a_s4(const PackedS4& p) {
  std::vector<int8_t> q(size_t(p.other) * p.k);
  for (int i = 0; i < p.other; ++i)
    for (int t = 0; t < p.k; ++t) {
      const uint8_t byte = p.bytes[size_t(i) * p.ld + t / 2];
      q[size_t(i) * p.k + t] = int8_t(nibble_value(t % 2 ? byte >> 4 : byte & 15));
    }
  return q;
}

std::vector<int8_t> unpack_b_s4(const PackedS4& p) {
  std::vector<int8_t> q(size_t(p.k) * p.other);
  for (int t = 0; t < p.k; ++t)
    for (int j = 0; j < p.other; ++j) {
      const uint8_t byte = p.bytes[b_offset(t / 2, j, p.kb())];
      q[size_t(t) * p.other + j] = int8_t(nibble_value(t % 2 ? byte >> 4 : byte & 15));
    }
  return q;
}

int s4_tile_steps(int max_a, int max_b) {
  if (max_a < 0 || max_b < 0 || max_a > kS4Max || max_b > kS4Max) throw std::invalid_argument("s4_tile_steps: magnitudes in [0, 7]");
  const int product = max_a * max_b;
  const int t = product == 0 ? 64 : std::min(64, 127 / product);
  return std::max(2, t & ~1);  // even (whole byte pairs); 127 / 49 = 2 at full scale
}

S4GemmStats gemm_s4s4s32(const PackedS4& a, const PackedS4& b, int32_t* c, int ldc, IntIsa isa, const S4GemmOptions& options) {
  if (a.k != b.k) throw std::invalid_argument("gemm_s4s4s32: reduction lengths differ");
  const int m = a.other, n = b.other, kb = a.kb();
  if (ldc < n) throw std::invalid_argument("gemm_s4s4s32: ldc < n");
  S4GemmStats stats;
  stats.calls = 1;
  const int t = options.tile_steps > 0 ? options.tile_steps : s4_tile_steps(a.max_abs, b.max_abs);
  if (t < 2 || t % 2 != 0) throw std::invalid_argument("gemm_s4s4s32: the tile length must be even and >= 2");
  stats.tile_steps = t;
  const int pairs = t / 2;
  // int16 holds the widened tiles while tiles * t * max|a| * max|b| <= 32767.
  const int bound = t * std::max(1, a.max_abs * b.max_abs);
  const int flush = std::max(1, 32767 / bound);
  const int rows_per_block = block_rows(isa);
  const int panels = b.ld / kS4PanelCols, blocks = (m + rows_per_block - 1) / rows_per_block;
  int64_t overflows = 0;
#pragma omp parallel for collapse(2) schedule(static) reduction(+ : overflows)
  for (int jp = 0; jp < panels; ++jp)
    for (int ib = 0; ib < blocks; ++ib) {
      alignas(64) int32_t tile[4 * 64] = {};
      const int i0 = ib * rows_per_block, rows = std::min(rows_per_block, m - i0);
      const int j0 = jp * kS4PanelCols, cols = std::min(kS4PanelCols, n - j0);
      overflows += run_block(isa, options.check_overflow, rows, a.bytes.data() + size_t(i0) * a.ld, a.ld,
                             b.bytes.data() + b_offset(0, j0, kb), kS4PanelCols, kb, pairs, flush, tile);
      for (int r = 0; r < rows; ++r) std::copy(tile + r * 64, tile + r * 64 + cols, c + size_t(i0 + r) * ldc + j0);
    }
  stats.overflows = options.check_overflow || isa == IntIsa::scalar ? overflows : 0;
  return stats;
}

void Hadamard4Gemm::run(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c, Rounding ra, Rounding rb,
                        uint64_t seed) {
  const int kp = (k + block_ - 1) / block_ * block_;  // zero padding keeps the product and lets the blocks tile k
  m_ = m;
  n_ = n;
  padded_copy(ta, m, k, kp, a, a_);
  // op(B) (k x n) padded to kp rows: B stored k x n, or n x k when transposed.
  b_.assign(size_t(kp) * n, 0.0f);
#pragma omp parallel for schedule(static)
  for (int p = 0; p < k; ++p)
    for (int j = 0; j < n; ++j) b_[size_t(p) * n + j] = tb ? b[size_t(j) * k + p] : b[size_t(p) * n + j];
  if (kp > 0) {
    hadamard_rows(a_.data(), m, kp, block_);
    hadamard_cols(b_.data(), kp, n, block_);
  }
  qa_.resize(size_t(m) * kp);
  qb_.resize(size_t(kp) * n);
  sa_.resize(m);
  sb_.resize(n);
  quantize_rows_s4(a_.data(), m, kp, ra, seed, qa_.data(), sa_.data());
  quantize_cols_s4(b_.data(), kp, n, rb, seed ^ 0x5bd1e995u, qb_.data(), sb_.data());
  pack_a_s4(qa_.data(), m, kp, pa_);
  pack_b_s4(qb_.data(), kp, n, pb_);
  run_s4_only(c);
}

void Hadamard4Gemm::run_s4_only(float* c) {
  c32_.resize(size_t(m_) * n_);
  stats_.add(gemm_s4s4s32(pa_, pb_, c32_.data(), n_, isa_, {check_, 0}));
#pragma omp parallel for schedule(static)
  for (int i = 0; i < m_; ++i)
    for (int j = 0; j < n_; ++j) c[size_t(i) * n_ + j] = sa_[i] * sb_[j] * float(c32_[size_t(i) * n_ + j]);
}

void reference_gemm_s4(const PackedS4& a, const PackedS4& b, int64_t* c) {
  const std::vector<int8_t> qa = unpack_a_s4(a), qb = unpack_b_s4(b);
  const int m = a.other, n = b.other, k = a.k;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      int64_t s = 0;
      for (int p = 0; p < k; ++p) s += int64_t(qa[size_t(i) * k + p]) * qb[size_t(p) * n + j];
      c[size_t(i) * n + j] = s;
    }
}

}  // namespace paradnn::cpu::lowp
