#include "platforms/cpu/lowp/int_gemm.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "platforms/cpu/lowp/aligned_vector.hpp"
#include "platforms/cpu/lowp/transpose16.hpp"
#include "platforms/cpu/probes/cpu_platform.hpp"
#include "platforms/cpu/probes/roofline_kernels.hpp"

namespace paradnn::cpu::lowp {

namespace {

// Register tile MR x NR (6 x 32 int32: 12 zmm accumulators). Per KC slice, up to MS rows of
// A are packed once (MS x KC); B is packed NC columns at a time (KC x NC, 512 KiB); each B
// micro-panel (KC x NR, 32 KiB) then meets MC rows of A (MC x KC, 24 KiB) while both are
// near L1. Measured on a Zen 4 (FC shapes 512 x 2048 x 2048): MC 24 over 72 and 144 gave
// 1.1-1.3x (A and the B micro-panel no longer evict each other), packing A once per slice
// instead of once per 512-column block about 1.1x; KC 512 and 2048 ran alike, 1024 slower.
constexpr int MR = 6, NR = 32, KC = 512, MC = 24, NC = 512, MS = 1008;

// A packed panel's lane: G consecutive k values of one row (or column) in one 32-bit word.
using Micro = void (*)(const int32_t* pa, const int32_t* pb, int groups, int32_t* tile);

// The zmm dot loop: c[r][h] += broadcast(A word of row r) . B panel row, over groups [G0, G1).
#define PARADNN_LOWP_DOTS_ZMM(DOT, G0, G1)                                                   \
  for (int gi = G0; gi < G1; ++gi) {                                                         \
    const __m512i b0 = _mm512_loadu_si512(pb + gi * NR), b1 = _mm512_loadu_si512(pb + gi * NR + 16); \
    _Pragma("GCC unroll 6") for (int r = 0; r < MR; ++r) {                                   \
      const __m512i a = _mm512_set1_epi32(pa[gi * MR + r]);                                  \
      c[r][0] = DOT(c[r][0], a, b0);                                                         \
      c[r][1] = DOT(c[r][1], a, b1);                                                         \
    }                                                                                        \
  }

// The zmm micro-kernel body: `tile` (int32) = sum over all groups.
#define PARADNN_LOWP_MICRO_ZMM(DOT)                                                          \
  __m512i c[MR][2];                                                                          \
  for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm512_setzero_si512();                   \
  PARADNN_LOWP_DOTS_ZMM(DOT, 0, groups)                                                      \
  for (int r = 0; r < MR; ++r) {                                                             \
    _mm512_storeu_si512(tile + r * NR, c[r][0]);                                             \
    _mm512_storeu_si512(tile + r * NR + 16, c[r][1]);                                        \
  }

// The same with f32 output, written straight into C: every `flush` groups the int32 sums
// are added to twelve f32 accumulators (registers too: 24 + 2 B + 1 A of 32 zmm) and
// restarted, so int32 never holds more than 2 * flush products: the caller picks flush so
// that this cannot overflow. At the end C = (first ? 0 : C) + scale * tile, columns masked
// at the edge. Accumulators are named and pinned to registers by an empty asm: otherwise
// GCC 12 copied all of them every group (35 moves per 12 vpdpwssd) or, with an array, kept
// them on the stack. (maskz_cvt: GCC 12 warns about the undefined vector inside the plain
// _mm512_cvtepi32_ps.)
static_assert(MR == 6, "the f32 micro-kernel below names six rows");
#define PARADNN_LOWP_ROW_DOT(DOT, R)                                                         \
  {                                                                                          \
    const __m512i a = _mm512_set1_epi32(pa[gi * MR + R]);                                    \
    c##R##0 = DOT(c##R##0, a, b0);                                                           \
    c##R##1 = DOT(c##R##1, a, b1);                                                           \
  }
#define PARADNN_LOWP_ROW_DRAIN(R)                                                            \
  f##R##0 = _mm512_add_ps(f##R##0, _mm512_maskz_cvtepi32_ps(0xffff, c##R##0));                \
  f##R##1 = _mm512_add_ps(f##R##1, _mm512_maskz_cvtepi32_ps(0xffff, c##R##1));
#define PARADNN_LOWP_ROW_STORE(R)                                                            \
  if (R < out.rows) {                                                                        \
    float* o = out.c + size_t(R) * out.ldc;                                                  \
    const __m512 v0 = _mm512_mul_ps(scale, f##R##0), v1 = _mm512_mul_ps(scale, f##R##1);     \
    _mm512_mask_storeu_ps(o, m0, out.first ? v0 : _mm512_add_ps(_mm512_maskz_loadu_ps(m0, o), v0));                \
    _mm512_mask_storeu_ps(o + 16, m1, out.first ? v1 : _mm512_add_ps(_mm512_maskz_loadu_ps(m1, o + 16), v1));      \
  }
#define PARADNN_LOWP_MICRO_ZMM_F32(DOT)                                                      \
  for (int r = 0; r < out.rows; ++r) {                                                       \
    _mm_prefetch(reinterpret_cast<const char*>(out.c + size_t(r) * out.ldc), _MM_HINT_T0);    \
    _mm_prefetch(reinterpret_cast<const char*>(out.c + size_t(r) * out.ldc + 16), _MM_HINT_T0); \
  }                                                                                          \
  __m512 f00 = _mm512_setzero_ps(), f01 = f00, f10 = f00, f11 = f00, f20 = f00, f21 = f00;   \
  __m512 f30 = f00, f31 = f00, f40 = f00, f41 = f00, f50 = f00, f51 = f00;                   \
  for (int g0 = 0; g0 < groups; g0 += flush) {                                               \
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00; \
    __m512i c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;                \
    const int g1 = std::min(groups, g0 + flush);                                             \
    for (int gi = g0; gi < g1; ++gi) {                                                       \
      const __m512i b0 = _mm512_loadu_si512(pb + gi * NR), b1 = _mm512_loadu_si512(pb + gi * NR + 16); \
      PARADNN_LOWP_ROW_DOT(DOT, 0) PARADNN_LOWP_ROW_DOT(DOT, 1) PARADNN_LOWP_ROW_DOT(DOT, 2)    \
      PARADNN_LOWP_ROW_DOT(DOT, 3) PARADNN_LOWP_ROW_DOT(DOT, 4) PARADNN_LOWP_ROW_DOT(DOT, 5)    \
      __asm__("" : "+v"(c00), "+v"(c01), "+v"(c10), "+v"(c11), "+v"(c20), "+v"(c21),          \
                   "+v"(c30), "+v"(c31), "+v"(c40), "+v"(c41), "+v"(c50), "+v"(c51));        \
    }                                                                                        \
    PARADNN_LOWP_ROW_DRAIN(0) PARADNN_LOWP_ROW_DRAIN(1) PARADNN_LOWP_ROW_DRAIN(2)            \
    PARADNN_LOWP_ROW_DRAIN(3) PARADNN_LOWP_ROW_DRAIN(4) PARADNN_LOWP_ROW_DRAIN(5)            \
    __asm__("" : "+v"(f00), "+v"(f01), "+v"(f10), "+v"(f11), "+v"(f20), "+v"(f21),          \
                 "+v"(f30), "+v"(f31), "+v"(f40), "+v"(f41), "+v"(f50), "+v"(f51));        \
  }                                                                                          \
  const __m512 scale = _mm512_set1_ps(out.scale);                                            \
  const __mmask16 m0 = __mmask16(out.cols >= 16 ? 0xffff : (1u << out.cols) - 1);            \
  const __mmask16 m1 = __mmask16(out.cols >= 32 ? 0xffff : out.cols <= 16 ? 0 : (1u << (out.cols - 16)) - 1); \
  PARADNN_LOWP_ROW_STORE(0) PARADNN_LOWP_ROW_STORE(1) PARADNN_LOWP_ROW_STORE(2)              \
  PARADNN_LOWP_ROW_STORE(3) PARADNN_LOWP_ROW_STORE(4) PARADNN_LOWP_ROW_STORE(5)

#define PARADNN_MADDWD_512(c, a, b) _mm512_add_epi32(c, _mm512_madd_epi16(a, b))

// Where an f32 tile goes: rows x cols of C at c (row stride ldc), scaled; the first KC slice
// overwrites, later ones add.
struct F32Out {
  float* c;
  int ldc, rows, cols;
  float scale;
  bool first;
};

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void micro_s16_vnni(const int32_t* pa, const int32_t* pb,
                                                                           int groups, int32_t* tile) {
  PARADNN_LOWP_MICRO_ZMM(_mm512_dpwssd_epi32)
}

// A words are u8 (a + 128), B words s8: vpdpbusd's operand order.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void micro_u8s8_vnni(const int32_t* pa, const int32_t* pb,
                                                                            int groups, int32_t* tile) {
  PARADNN_LOWP_MICRO_ZMM(_mm512_dpbusd_epi32)
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void micro_s16_f32_vnni(const int32_t* pa, const int32_t* pb,
                                                                               int groups, int flush, const F32Out& out) {
  PARADNN_LOWP_MICRO_ZMM_F32(_mm512_dpwssd_epi32)
}

__attribute__((target("avx512f,avx512bw"))) void micro_s16_f32_avx512bw(const int32_t* pa, const int32_t* pb, int groups,
                                                                        int flush, const F32Out& out) {
  PARADNN_LOWP_MICRO_ZMM_F32(PARADNN_MADDWD_512)
}

__attribute__((target("avx512f,avx512bw"))) void micro_s16_avx512bw(const int32_t* pa, const int32_t* pb, int groups,
                                                                    int32_t* tile) {
  PARADNN_LOWP_MICRO_ZMM(PARADNN_MADDWD_512)
}

// AVX2: the 32 columns in two halves of 6 x 16 (12 ymm accumulators each).
__attribute__((target("avx2"))) void micro_s16_avx2(const int32_t* pa, const int32_t* pb, int groups, int32_t* tile) {
  for (int h = 0; h < NR; h += 16) {
    __m256i c[MR][2];
    for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm256_setzero_si256();
    for (int gi = 0; gi < groups; ++gi) {
      const auto* bp = reinterpret_cast<const __m256i*>(pb + gi * NR + h);
      const __m256i b0 = _mm256_loadu_si256(bp), b1 = _mm256_loadu_si256(bp + 1);
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r) {
        const __m256i a = _mm256_set1_epi32(pa[gi * MR + r]);
        c[r][0] = _mm256_add_epi32(c[r][0], _mm256_madd_epi16(a, b0));
        c[r][1] = _mm256_add_epi32(c[r][1], _mm256_madd_epi16(a, b1));
      }
    }
    for (int r = 0; r < MR; ++r) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * NR + h), c[r][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * NR + h + 8), c[r][1]);
    }
  }
}

void micro_s16_scalar(const int32_t* pa, const int32_t* pb, int groups, int32_t* tile) {
  std::fill(tile, tile + MR * NR, 0);
  for (int gi = 0; gi < groups; ++gi)
    for (int r = 0; r < MR; ++r) {
      const int32_t a = pa[gi * MR + r];
      for (int j = 0; j < NR; ++j) {
        const int32_t b = pb[gi * NR + j];
        tile[r * NR + j] += int32_t(int16_t(a)) * int16_t(b) + int32_t(int16_t(a >> 16)) * int16_t(b >> 16);
      }
    }
}

Micro s16_micro(IntIsa isa) {
  switch (isa) {
    case IntIsa::amx_int8:  // the tiles run convolutions only
    case IntIsa::avx512_vnni: return micro_s16_vnni;
    case IntIsa::avx512bw: return micro_s16_avx512bw;
    case IntIsa::avx2: return micro_s16_avx2;
    case IntIsa::scalar: return micro_s16_scalar;
  }
  return micro_s16_scalar;
}

// f32 output for the other ISAs: the int32 kernel on `flush`-group chunks, summed in f32.
template <Micro M>
void micro_s16_f32_chunked(const int32_t* pa, const int32_t* pb, int groups, int flush, const F32Out& out) {
  alignas(64) int32_t part[MR * NR];
  float tile[MR * NR] = {};
  for (int g0 = 0; g0 < groups; g0 += flush) {
    M(pa + g0 * MR, pb + g0 * NR, std::min(flush, groups - g0), part);
    for (int i = 0; i < MR * NR; ++i) tile[i] += float(part[i]);
  }
  for (int r = 0; r < out.rows; ++r) {
    float* o = out.c + size_t(r) * out.ldc;
    for (int j = 0; j < out.cols; ++j) o[j] = (out.first ? 0.0f : o[j]) + out.scale * tile[r * NR + j];
  }
}

using MicroF32 = void (*)(const int32_t* pa, const int32_t* pb, int groups, int flush, const F32Out& out);

MicroF32 s16_f32_micro(IntIsa isa) {
  switch (isa) {
    case IntIsa::amx_int8:  // the tiles run convolutions only
    case IntIsa::avx512_vnni: return micro_s16_f32_vnni;
    case IntIsa::avx512bw: return micro_s16_f32_avx512bw;
    case IntIsa::avx2: return micro_s16_f32_chunked<micro_s16_avx2>;
    case IntIsa::scalar: return micro_s16_f32_chunked<micro_s16_scalar>;
  }
  return micro_s16_f32_chunked<micro_s16_scalar>;
}

// Element (i, p) of op(A) or (p, j) of op(B).
template <typename T>
struct Operand {
  const T* data;
  int ld;
  bool trans;
  T at(int row, int col) const { return trans ? data[col * ld + row] : data[row * ld + col]; }
};

// Packs rows [r0, r0 + rows) x reduction [k0, k0 + kb) of `get(row, p)` into panels of W rows:
// dst[(panel * groups + g) * W + r] holds G consecutive k values (zero past the end).
template <int G, int W, typename Get>
void pack(Get get, int r0, int rows, int k0, int kb, int32_t* dst) {
  const int groups = (kb + G - 1) / G;
  for (int panel = 0; panel * W < rows; ++panel)
    for (int g = 0; g < groups; ++g)
      for (int r = 0; r < W; ++r) {
        uint32_t word = 0;
        const int row = panel * W + r;
        for (int j = 0; j < G; ++j) {
          const int p = g * G + j;
          if (row < rows && p < kb) word |= uint32_t(get(r0 + row, k0 + p)) << (j * (32 / G));
        }
        dst[(panel * groups + g) * W + r] = int32_t(word);
      }
}

// An int16 operand as the packing sees it: element (row, p) of op(A) (row i), or of op(B)^T
// (row j), where p runs along the reduction. The general pack above costs several times the
// micro-kernel's time here, so int16 gets straight loops: a k pair is one 32-bit load where
// p is contiguous, else two rows interleaved (which the compiler vectorizes).
struct S16Source {
  const int16_t* data;
  int ld;
  bool k_contiguous;  // element at data[row * ld + p], else at data[p * ld + row]
};

S16Source s16_source(const int16_t* data, int ld, bool trans, bool by_column) { return {data, ld, trans == by_column}; }

bool has_avx512f() {
  static const bool yes = cpu_features().cpuid.avx512f;
  return yes;
}

// The k-contiguous case: d[g * W + r] = the k pair (2g, 2g + 1) of row r (r < live), a
// 16-row x 16-pair block at a time: 16 row loads, a transpose, 16 stores. (Gathers down the
// rows were 4x slower: rows 4 KiB apart share an L1 set, and 16 of them evict each other.)
template <int W>
__attribute__((target("avx512f"))) void pack_rows_avx512(const int16_t* row0, int ld, int live, int pairs, int32_t* d) {
  for (int v = 0; v < W; v += 16) {
    const int l = std::clamp(live - v, 0, 16);
    if (l == 0) break;
    const __mmask16 store = W - v >= 16 ? __mmask16(0xffff) : __mmask16((1u << (W - v)) - 1);
    for (int g0 = 0; g0 < pairs; g0 += 16) {
      const int gn = std::min(16, pairs - g0);
      const __mmask16 part = gn == 16 ? __mmask16(0xffff) : __mmask16((1u << gn) - 1);
      __m512i r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < l ? _mm512_maskz_loadu_epi32(part, row0 + size_t(v + i) * ld + 2 * g0) : _mm512_setzero_si512();
      transpose16(r);
      for (int g = 0; g < gn; ++g) _mm512_mask_storeu_epi32(d + size_t(g0 + g) * W + v, store, r[g]);
    }
  }
}

// The other case, AVX-512BW: the k pair (2g, 2g + 1) of `live` consecutive rows are two
// runs of int16 one row stride apart; one vpermt2w per 16 words interleaves them.
template <int W>
__attribute__((target("avx512f,avx512bw"))) void pack_pairs_avx512(const int16_t* lo, int ld, int live, int groups, int pairs,
                                                                   int32_t* d) {
  alignas(64) static constexpr int16_t low_half[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                                       8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
  const __m512i idx0 = _mm512_load_si512(low_half), idx1 = _mm512_add_epi16(idx0, _mm512_set1_epi16(16));
  for (int v = 0; v < W; v += 32) {
    const int l = std::clamp(live - v, 0, 32);
    const __mmask32 m = l == 32 ? ~__mmask32(0) : __mmask32((1u << l) - 1);
    const int stored = std::min(32, W - v);  // words this chunk owns in the panel (rows past live: zero)
    const __mmask16 s0 = __mmask16(stored >= 16 ? 0xffff : (1u << stored) - 1);
    const __mmask16 s1 = __mmask16(stored >= 32 ? 0xffff : stored <= 16 ? 0 : (1u << (stored - 16)) - 1);
    for (int g = 0; g < groups; ++g) {
      const int16_t* row = lo + size_t(2 * g) * ld + v;
      const __m512i a = _mm512_maskz_loadu_epi16(m, row);
      const __m512i b = g < pairs ? _mm512_maskz_loadu_epi16(m, row + ld) : _mm512_setzero_si512();
      int32_t* out = d + size_t(g) * W + v;
      _mm512_mask_storeu_epi32(out, s0, _mm512_permutex2var_epi16(a, idx0, b));
      if (s1) _mm512_mask_storeu_epi32(out + 16, s1, _mm512_permutex2var_epi16(a, idx1, b));
    }
  }
}

template <int G, int W>
void pack(const S16Source& s, int r0, int rows, int k0, int kb, int32_t* dst) {
  static_assert(G == 2);
  const int groups = (kb + 1) / 2, pairs = kb / 2;
  for (int panel = 0; panel * W < rows; ++panel) {
    int32_t* d = dst + size_t(panel) * groups * W;
    const int live = std::min(W, rows - panel * W), first = r0 + panel * W;
    if (s.k_contiguous && has_avx512f()) {
      pack_rows_avx512<W>(s.data + size_t(first) * s.ld + k0, s.ld, live, pairs, d);
      if (pairs < groups)
        for (int r = 0; r < live; ++r) d[pairs * W + r] = uint16_t(s.data[size_t(first + r) * s.ld + k0 + kb - 1]);
    } else if (s.k_contiguous) {
      for (int r = 0; r < live; ++r) {
        const int16_t* src = s.data + size_t(first + r) * s.ld + k0;
        for (int g = 0; g < pairs; ++g) std::memcpy(d + g * W + r, src + 2 * g, 4);
        if (pairs < groups) d[pairs * W + r] = uint16_t(src[kb - 1]);
      }
    } else if (has_avx512bw()) {
      pack_pairs_avx512<W>(s.data + size_t(k0) * s.ld + first, s.ld, live, groups, pairs, d);
      continue;  // rows past the edge are zero already
    } else {
      for (int g = 0; g < groups; ++g) {
        const uint16_t* lo = reinterpret_cast<const uint16_t*>(s.data) + size_t(k0 + 2 * g) * s.ld + first;
        int32_t* out = d + g * W;
        if (g < pairs)
          for (int r = 0; r < live; ++r) out[r] = int32_t(lo[r] | uint32_t(lo[r + s.ld]) << 16);
        else
          for (int r = 0; r < live; ++r) out[r] = lo[r];
      }
    }
    for (int g = 0; g < groups; ++g) std::fill(d + g * W + live, d + g * W + W, 0);  // rows past the edge
  }
}

// The blocked loop nest over output rows [i0, i1) and columns [j0, j1), on one thread.
// enc_a(i, p) and enc_b(j, p) give the packed bits of one element; tile(pa, pb, groups, i, j,
// rows, cols, first) multiplies two packed micro-panels and stores the result (the tile at
// row i, column j, of one KC slice: the first overwrites). Up to MS rows of A are packed once
// per KC slice and read for every NC block of B.
template <int G, typename EncA, typename EncB, typename Tile>
void blocked_range(const IntGemmArgs& g, int i0, int i1, int j0, int j1, EncA enc_a, EncB enc_b, Tile tile) {
  static_assert(MC % MR == 0 && MS % MC == 0);
  const int kc_groups = KC / G;
  // Packing buffers live as long as their thread (no allocation or zeroing per call).
  static thread_local AlignedVector<int32_t> pa, pb;
  pa.resize(std::max(pa.size(), size_t(std::min(MS, (i1 - i0 + MR - 1) / MR * MR)) * kc_groups));
  pb.resize(std::max(pb.size(), size_t(std::min(NC, (j1 - j0 + NR - 1) / NR * NR)) * kc_groups));
  for (int k0 = 0; k0 < g.k; k0 += KC) {
    const int kb = std::min(KC, g.k - k0);
    const int groups = (kb + G - 1) / G;
    for (int s0 = i0; s0 < i1; s0 += MS) {
      const int sb = std::min(MS, i1 - s0);
      pack<G, MR>(enc_a, s0, sb, k0, kb, pa.data());
      for (int n0 = j0; n0 < j1; n0 += NC) {
        const int nb = std::min(NC, j1 - n0);
        pack<G, NR>(enc_b, n0, nb, k0, kb, pb.data());
        for (int m0 = 0; m0 < sb; m0 += MC)  // each B micro-panel meets MC rows of A in L1
          for (int jp = 0; jp * NR < nb; ++jp)
            for (int ip = m0 / MR; ip * MR < std::min(sb, m0 + MC); ++ip)
              tile(pa.data() + size_t(ip) * groups * MR, pb.data() + size_t(jp) * groups * NR, groups, s0 + ip * MR,
                   n0 + jp * NR, std::min(MR, sb - ip * MR), std::min(NR, nb - jp * NR), k0 == 0);
      }
    }
  }
}

// Splits C into one block per OpenMP thread (columns first, then rows), each computed
// without synchronization: barriers per cache block stall when cores are shared.
template <int G, typename EncA, typename EncB, typename Tile>
void blocked_gemm(const IntGemmArgs& g, EncA enc_a, EncB enc_b, Tile tile) {
  const int threads = std::max(1, omp_get_max_threads());
  const int col_parts = std::max(1, std::min(threads, (g.n + NR - 1) / NR));
  const int row_parts = std::max(1, std::min(threads / col_parts, (g.m + MR - 1) / MR));
  const int col_step = ((g.n + col_parts - 1) / col_parts + NR - 1) / NR * NR;
  const int row_step = ((g.m + row_parts - 1) / row_parts + MR - 1) / MR * MR;
#pragma omp parallel for collapse(2) schedule(static)
  for (int rp = 0; rp < row_parts; ++rp)
    for (int cp = 0; cp < col_parts; ++cp) {
      const int i0 = rp * row_step, j0 = cp * col_step;
      if (i0 < g.m && j0 < g.n)
        blocked_range<G>(g, i0, std::min(g.m, i0 + row_step), j0, std::min(g.n, j0 + col_step), enc_a, enc_b, tile);
    }
}

template <typename T>
auto encoder(const T* data, int ld, bool trans, bool by_column) {
  const Operand<T> op{data, ld, trans};
  return [op, by_column](int row, int p) {
    using U = std::make_unsigned_t<T>;
    return U(by_column ? op.at(p, row) : op.at(row, p));
  };
}

// An int32 micro-kernel's tile, stored into C.
auto int32_tile(const IntGemmArgs& g, Micro micro, int32_t* c) {
  return [&g, micro, c](const int32_t* pa, const int32_t* pb, int groups, int i0, int j0, int rows, int cols, bool first) {
    alignas(64) int32_t tile[MR * NR];
    micro(pa, pb, groups, tile);
    for (int r = 0; r < rows; ++r) {
      int32_t* out = c + size_t(i0 + r) * g.ldc + j0;
      for (int j = 0; j < cols; ++j) out[j] = first ? tile[r * NR + j] : out[j] + tile[r * NR + j];
    }
  };
}

// max |x| over a rows x cols matrix with leading dimension ld.
int abs_max(const int16_t* x, int rows, int cols, int ld) {
  int m = 0;
  for (int r = 0; r < rows; ++r) {
    const int16_t* row = x + size_t(r) * ld;
#pragma omp simd reduction(max : m)
    for (int j = 0; j < cols; ++j) m = std::max(m, std::abs(int(row[j])));
  }
  return m;
}

void check(const IntGemmArgs& g) {
  if (g.m < 0 || g.n < 0 || g.k < 0) throw std::invalid_argument("integer GEMM: negative dimension");
  const int a_cols = g.trans_a ? g.m : g.k, b_cols = g.trans_b ? g.k : g.n;
  if (g.lda < a_cols || g.ldb < b_cols || g.ldc < g.n) throw std::invalid_argument("integer GEMM: leading dimension too small");
}

}  // namespace

std::vector<IntIsa> runnable_int_isas() {
  const CpuidFlags c = cpu_features().cpuid;
  std::vector<IntIsa> isas;
  // AMX's CPUs all have AVX-512 VBMI, which the tile staging uses; asked anyway.
  if (c.amx_int8 && c.avx512_vnni && c.avx512bw && __builtin_cpu_supports("avx512vbmi") && amx_permission().empty())
    isas.push_back(IntIsa::amx_int8);
  if (c.avx512_vnni && c.avx512bw) isas.push_back(IntIsa::avx512_vnni);
  if (c.avx512bw) isas.push_back(IntIsa::avx512bw);
  if (c.avx2) isas.push_back(IntIsa::avx2);
  isas.push_back(IntIsa::scalar);
  return isas;
}

IntIsa detected_int_isa() { return runnable_int_isas().front(); }

bool has_avx512bw() {
  static const bool yes = cpu_features().cpuid.avx512f && cpu_features().cpuid.avx512bw;
  return yes;
}

std::string to_string(IntIsa isa) {
  switch (isa) {
    case IntIsa::amx_int8: return "amx_int8 (tdpb*d on split int16 bytes: DFP convolutions; the rest avx512_vnni)";
    case IntIsa::avx512_vnni: return "avx512_vnni (vpdpwssd, vpdpbusd)";
    case IntIsa::avx512bw: return "avx512bw (vpmaddwd)";
    case IntIsa::avx2: return "avx2 (vpmaddwd)";
    case IntIsa::scalar: return "scalar";
  }
  return "scalar";
}

void pack_pair_words(const int16_t* row0, int ld, int live, int pairs, int width, int32_t* d) {
  if (width == 32) return pack_rows_avx512<32>(row0, ld, live, pairs, d);
  if (width == 16) return pack_rows_avx512<16>(row0, ld, live, pairs, d);
  throw std::invalid_argument("pack_pair_words: width " + std::to_string(width) + ", expected 16 or 32");
}

void interleave_row_pairs(const int16_t* lo, int ld, int live, int groups, int pairs, int width, int32_t* d) {
  if (width == 32) return pack_pairs_avx512<32>(lo, ld, live, groups, pairs, d);
  if (width == 16) return pack_pairs_avx512<16>(lo, ld, live, groups, pairs, d);
  throw std::invalid_argument("interleave_row_pairs: width " + std::to_string(width) + ", expected 16 or 32");
}

void gemm_s16s16s32(const IntGemmArgs& g, const int16_t* a, const int16_t* b, int32_t* c, IntIsa isa) {
  check(g);
  if (g.k == 0) {
    for (int i = 0; i < g.m; ++i) std::fill(c + size_t(i) * g.ldc, c + size_t(i) * g.ldc + g.n, 0);
    return;
  }
  blocked_gemm<2>(g, s16_source(a, g.lda, g.trans_a, false), s16_source(b, g.ldb, g.trans_b, true), int32_tile(g, s16_micro(isa), c));
}

int gemm_chain_groups(const IntGemmArgs& g, const int16_t* a, int max_a, int max_b) {
  // From the largest magnitudes alone: 2 products a group, each up to max|a| * max|b|.
  const int64_t pair_bound = 2 * int64_t(max_a) * max_b;
  if (pair_bound == 0 || g.k == 0) return KC / 2;
  int chain = int(std::clamp<int64_t>(INT32_MAX / pair_bound, 1, KC / 2));
  chain = 1 << (31 - __builtin_clz(unsigned(chain)));  // a power of two: its k-windows tile each KC slice
  if (chain == KC / 2 || 2 * chain >= g.k) return KC / 2;  // (one worst-case chain covers k)
  // Sums of |a| over aligned windows of 2 * chain k values, per row of op(A), doubled while
  // the largest times max|b| stays in int32. Windows never cross a KC slice (512 is a
  // multiple of every window), so each of the kernel's chains lies inside one window.
  const int64_t limit = INT32_MAX / max_b;
  const int window = 2 * chain, windows = (g.k + window - 1) / window;
  static thread_local std::vector<int32_t> sums;  // the calling thread's: the workers use `out`
  sums.assign(size_t(g.m) * windows, 0);          // <= 512 * 32767 each: int32
  int32_t* const out = sums.data();
  if (!g.trans_a) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < g.m; ++i) {
      const int16_t* row = a + size_t(i) * g.lda;
      for (int w = 0; w < windows; ++w) {
        int32_t s = 0;
        const int p1 = std::min(g.k, (w + 1) * window);
#pragma omp simd reduction(+ : s)
        for (int p = w * window; p < p1; ++p) s += std::abs(int32_t(row[p]));
        out[size_t(i) * windows + w] = s;
      }
    }
  } else {  // op(A)(i, p) = a[p * lda + i]: k runs down a's rows
#pragma omp parallel
    {
      std::vector<int32_t> col(size_t(g.m));
#pragma omp for schedule(static)
      for (int w = 0; w < windows; ++w) {
        std::fill(col.begin(), col.end(), 0);
        for (int p = w * window; p < std::min(g.k, (w + 1) * window); ++p) {
          const int16_t* row = a + size_t(p) * g.lda;
#pragma omp simd
          for (int i = 0; i < g.m; ++i) col[i] += std::abs(int32_t(row[i]));
        }
        for (int i = 0; i < g.m; ++i) out[size_t(i) * windows + w] = col[i];
      }
    }
  }
  for (int n = windows; chain < KC / 2 && n > 1; n = (n + 1) / 2) {
    int64_t widest = 0;  // the doubled windows' largest sum
#pragma omp parallel for schedule(static) reduction(max : widest)
    for (int i = 0; i < g.m; ++i) {
      int32_t* r = out + size_t(i) * windows;
      for (int w = 0; 2 * w < n; ++w) {
        r[w] = r[2 * w] + (2 * w + 1 < n ? r[2 * w + 1] : 0);
        widest = std::max<int64_t>(widest, r[w]);
      }
    }
    if (widest > limit) break;
    chain *= 2;
  }
  return chain >= (g.k + 1) / 2 ? KC / 2 : chain;  // one chain spans all of k
}

void gemm_s16s16f32(const IntGemmArgs& g, const int16_t* a, const int16_t* b, float scale, float* c, IntIsa isa, int max_a,
                    int max_b) {
  check(g);
  if (g.k == 0) {
    for (int i = 0; i < g.m; ++i) std::fill(c + size_t(i) * g.ldc, c + size_t(i) * g.ldc + g.n, 0.0f);
    return;
  }
  if (max_a < 0) max_a = abs_max(a, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda);
  if (max_b < 0) max_b = abs_max(b, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb);
  const int flush = gemm_chain_groups(g, a, max_a, max_b);
  const MicroF32 micro = s16_f32_micro(isa);
  blocked_gemm<2>(g, s16_source(a, g.lda, g.trans_a, false), s16_source(b, g.ldb, g.trans_b, true),
                  [&g, micro, flush, c, scale](const int32_t* pa, const int32_t* pb, int groups, int i0, int j0, int rows, int cols,
                                               bool first) {
                    micro(pa, pb, groups, flush, F32Out{c + size_t(i0) * g.ldc + j0, g.ldc, rows, cols, scale, first});
                  });
}

void gemm_s8s8s32(const IntGemmArgs& g, const int8_t* a, const int8_t* b, int32_t* c, IntIsa isa) {
  check(g);
  isa = vector_isa(isa);
  if (isa != IntIsa::avx512_vnni || g.k == 0) {
    // Widened to int16 (dense, untransposed copies) and run through the int16 kernel.
    std::vector<int16_t> a16(size_t(g.m) * g.k), b16(size_t(g.k) * g.n);
    const Operand<int8_t> oa{a, g.lda, g.trans_a}, ob{b, g.ldb, g.trans_b};
    for (int i = 0; i < g.m; ++i)
      for (int p = 0; p < g.k; ++p) a16[size_t(i) * g.k + p] = oa.at(i, p);
    for (int p = 0; p < g.k; ++p)
      for (int j = 0; j < g.n; ++j) b16[size_t(p) * g.n + j] = ob.at(p, j);
    IntGemmArgs w = g;
    w.trans_a = w.trans_b = false;
    w.lda = g.k;
    w.ldb = g.n;
    gemm_s16s16s32(w, a16.data(), b16.data(), c, isa == IntIsa::avx512_vnni ? IntIsa::avx512bw : isa);
    return;
  }
  const Operand<int8_t> ob{b, g.ldb, g.trans_b};
  const Operand<int8_t> oa{a, g.lda, g.trans_a};
  auto enc_a = [oa](int i, int p) { return uint8_t(int(oa.at(i, p)) + 128); };
  blocked_gemm<4>(g, enc_a, encoder(b, g.ldb, g.trans_b, true), int32_tile(g, micro_u8s8_vnni, c));
  std::vector<int32_t> compensation(g.n, 0);
  for (int p = 0; p < g.k; ++p)
    for (int j = 0; j < g.n; ++j) compensation[j] += 128 * int32_t(ob.at(p, j));
#pragma omp parallel for schedule(static)
  for (int i = 0; i < g.m; ++i)
    for (int j = 0; j < g.n; ++j) c[size_t(i) * g.ldc + j] -= compensation[j];
}

}  // namespace paradnn::cpu::lowp
