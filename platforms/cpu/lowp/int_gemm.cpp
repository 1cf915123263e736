#include "platforms/cpu/lowp/int_gemm.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "platforms/cpu/probes/cpu_platform.hpp"

namespace paradnn::cpu::lowp {

namespace {

// Register tile MR x NR (6 x 32 int32: 12 zmm accumulators), cache blocks MC x KC of A
// (about 36 KiB of int16, L1/L2) and KC x NC of B (256 KiB of int16, L2).
constexpr int MR = 6, NR = 32, KC = 256, MC = 72, NC = 512;

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

// The same with f32 output: every `flush` groups the int32 sums are added to the f32 tile
// and restarted, so int32 never holds more than 2 * flush products: the caller picks flush so
// that this cannot overflow. Twelve named accumulators pinned to registers by an empty asm:
// otherwise GCC 12 copied all of them every group (35 moves per 12 vpdpwssd) or, with an
// array, kept them on the stack. (maskz_cvt: GCC 12 warns about the undefined
// vector inside the plain _mm512_cvtepi32_ps.)
static_assert(MR == 6, "the f32 micro-kernel below names six rows");
#define PARADNN_LOWP_ROW_DOT(DOT, R)                                                         \
  {                                                                                          \
    const __m512i a = _mm512_set1_epi32(pa[gi * MR + R]);                                    \
    c##R##0 = DOT(c##R##0, a, b0);                                                           \
    c##R##1 = DOT(c##R##1, a, b1);                                                           \
  }
#define PARADNN_LOWP_ROW_DRAIN(R)                                                            \
  {                                                                                          \
    float* t = tile + R * NR;                                                                \
    _mm512_storeu_ps(t, _mm512_add_ps(_mm512_loadu_ps(t), _mm512_maskz_cvtepi32_ps(0xffff, c##R##0)));          \
    _mm512_storeu_ps(t + 16, _mm512_add_ps(_mm512_loadu_ps(t + 16), _mm512_maskz_cvtepi32_ps(0xffff, c##R##1))); \
  }
#define PARADNN_LOWP_MICRO_ZMM_F32(DOT)                                                      \
  for (int i = 0; i < MR * NR; i += 16) _mm512_storeu_ps(tile + i, _mm512_setzero_ps());      \
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
  }

#define PARADNN_MADDWD_512(c, a, b) _mm512_add_epi32(c, _mm512_madd_epi16(a, b))

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
                                                                               int groups, int flush, float* tile) {
  PARADNN_LOWP_MICRO_ZMM_F32(_mm512_dpwssd_epi32)
}

__attribute__((target("avx512f,avx512bw"))) void micro_s16_f32_avx512bw(const int32_t* pa, const int32_t* pb, int groups,
                                                                        int flush, float* tile) {
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
    case IntIsa::avx512_vnni: return micro_s16_vnni;
    case IntIsa::avx512bw: return micro_s16_avx512bw;
    case IntIsa::avx2: return micro_s16_avx2;
    case IntIsa::scalar: return micro_s16_scalar;
  }
  return micro_s16_scalar;
}

// f32 output for the other ISAs: the int32 kernel on `flush`-group chunks, summed in f32.
template <Micro M>
void micro_s16_f32_chunked(const int32_t* pa, const int32_t* pb, int groups, int flush, float* tile) {
  alignas(64) int32_t part[MR * NR];
  std::fill(tile, tile + MR * NR, 0.0f);
  for (int g0 = 0; g0 < groups; g0 += flush) {
    M(pa + g0 * MR, pb + g0 * NR, std::min(flush, groups - g0), part);
    for (int i = 0; i < MR * NR; ++i) tile[i] += float(part[i]);
  }
}

using MicroF32 = void (*)(const int32_t* pa, const int32_t* pb, int groups, int flush, float* tile);

MicroF32 s16_f32_micro(IntIsa isa) {
  switch (isa) {
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

// The k-contiguous case as gathers: d[g * W + r] = the k pair (2g, 2g + 1) of row r (r < live),
// 16 rows a gather (element offsets in int16 units, scale 2: any alignment).
template <int W>
__attribute__((target("avx512f"))) void pack_rows_avx512(const int16_t* row0, int ld, int live, int pairs, int32_t* d) {
  const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(ld));
  for (int v = 0; v < W; v += 16) {
    const int l = std::clamp(live - v, 0, 16);
    if (l == 0) break;
    const __mmask16 m = l == 16 ? __mmask16(0xffff) : __mmask16((1u << l) - 1);
    const __mmask16 store = W - v >= 16 ? __mmask16(0xffff) : __mmask16((1u << (W - v)) - 1);
    const int16_t* base = row0 + size_t(v) * ld;
    for (int g = 0; g < pairs; ++g)
      _mm512_mask_storeu_epi32(d + size_t(g) * W + v, store, _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, base + 2 * g, 2));
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
// enc_a(i, p) and enc_b(j, p) give the packed bits of one element; emit(tile, i, j, rows,
// cols, first) stores a finished tile (of T: int32 or f32) of one KC slice.
template <int G, typename T, typename EncA, typename EncB, typename Kernel, typename Emit>
void blocked_range(const IntGemmArgs& g, int i0, int i1, int j0, int j1, EncA enc_a, EncB enc_b, Kernel micro, Emit emit) {
  const int kc_groups = KC / G;
  // Packing buffers live as long as their thread (no allocation or zeroing per call).
  static thread_local std::vector<int32_t> pa, pb;
  pa.resize(std::max(pa.size(), size_t(MC) * kc_groups));
  pb.resize(std::max(pb.size(), size_t(NC) * kc_groups));
  alignas(64) T tile[MR * NR];
  for (int n0 = j0; n0 < j1; n0 += NC) {
    const int nb = std::min(NC, j1 - n0);
    const int panels_b = (nb + NR - 1) / NR;
    for (int k0 = 0; k0 < g.k; k0 += KC) {
      const int kb = std::min(KC, g.k - k0);
      const int groups = (kb + G - 1) / G;
      pack<G, NR>(enc_b, n0, nb, k0, kb, pb.data());
      for (int m0 = i0; m0 < i1; m0 += MC) {
        const int mb = std::min(MC, i1 - m0);
        pack<G, MR>(enc_a, m0, mb, k0, kb, pa.data());
        for (int ip = 0; ip * MR < mb; ++ip)
          for (int jp = 0; jp < panels_b; ++jp) {
            micro(pa.data() + size_t(ip) * groups * MR, pb.data() + size_t(jp) * groups * NR, groups, tile);
            emit(tile, m0 + ip * MR, n0 + jp * NR, std::min(MR, mb - ip * MR), std::min(NR, nb - jp * NR), k0 == 0);
          }
      }
    }
  }
}

// Splits C into one block per OpenMP thread (columns first, then rows), each computed
// without synchronization: barriers per cache block stall when cores are shared.
template <int G, typename T, typename EncA, typename EncB, typename Kernel, typename Emit>
void blocked_gemm(const IntGemmArgs& g, EncA enc_a, EncB enc_b, Kernel micro, Emit emit) {
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
        blocked_range<G, T>(g, i0, std::min(g.m, i0 + row_step), j0, std::min(g.n, j0 + col_step), enc_a, enc_b, micro, emit);
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

auto int32_emit(const IntGemmArgs& g, int32_t* c) {
  return [&g, c](const int32_t* tile, int i0, int j0, int rows, int cols, bool first) {
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
  if (c.avx512_vnni && c.avx512bw) isas.push_back(IntIsa::avx512_vnni);
  if (c.avx512bw) isas.push_back(IntIsa::avx512bw);
  if (c.avx2) isas.push_back(IntIsa::avx2);
  isas.push_back(IntIsa::scalar);
  return isas;
}

IntIsa detected_int_isa() { return runnable_int_isas().front(); }

std::string to_string(IntIsa isa) {
  switch (isa) {
    case IntIsa::avx512_vnni: return "avx512_vnni (vpdpwssd, vpdpbusd)";
    case IntIsa::avx512bw: return "avx512bw (vpmaddwd)";
    case IntIsa::avx2: return "avx2 (vpmaddwd)";
    case IntIsa::scalar: return "scalar";
  }
  return "scalar";
}

void gemm_s16s16s32(const IntGemmArgs& g, const int16_t* a, const int16_t* b, int32_t* c, IntIsa isa) {
  check(g);
  if (g.k == 0) {
    for (int i = 0; i < g.m; ++i) std::fill(c + size_t(i) * g.ldc, c + size_t(i) * g.ldc + g.n, 0);
    return;
  }
  blocked_gemm<2, int32_t>(g, s16_source(a, g.lda, g.trans_a, false), s16_source(b, g.ldb, g.trans_b, true), s16_micro(isa),
                           int32_emit(g, c));
}

void gemm_s16s16f32(const IntGemmArgs& g, const int16_t* a, const int16_t* b, float scale, float* c, IntIsa isa, int max_a,
                    int max_b) {
  check(g);
  if (g.k == 0) {
    for (int i = 0; i < g.m; ++i) std::fill(c + size_t(i) * g.ldc, c + size_t(i) * g.ldc + g.n, 0.0f);
    return;
  }
  // One vpdpwssd lane adds 2 products per group; restart int32 before 2 * flush * max|a| * max|b|
  // can pass 2^31 - 1 (|a|, |b| <= 32767: a pair of -32768 products alone would wrap).
  if (max_a < 0) max_a = abs_max(a, g.trans_a ? g.k : g.m, g.trans_a ? g.m : g.k, g.lda);
  if (max_b < 0) max_b = abs_max(b, g.trans_b ? g.n : g.k, g.trans_b ? g.k : g.n, g.ldb);
  const int64_t bound = 2 * int64_t(max_a) * max_b;
  const int flush = int(std::clamp<int64_t>(bound ? INT32_MAX / bound : KC, 1, KC));
  const MicroF32 micro = s16_f32_micro(isa);
  blocked_gemm<2, float>(
      g, s16_source(a, g.lda, g.trans_a, false), s16_source(b, g.ldb, g.trans_b, true),
      [micro, flush](const int32_t* pa, const int32_t* pb, int groups, float* tile) { micro(pa, pb, groups, flush, tile); },
      [&g, c, scale](const float* tile, int i0, int j0, int rows, int cols, bool first) {
        for (int r = 0; r < rows; ++r) {
          float* out = c + size_t(i0 + r) * g.ldc + j0;
          for (int j = 0; j < cols; ++j) out[j] = (first ? 0.0f : out[j]) + scale * tile[r * NR + j];
        }
      });
}

void gemm_s8s8s32(const IntGemmArgs& g, const int8_t* a, const int8_t* b, int32_t* c, IntIsa isa) {
  check(g);
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
  blocked_gemm<4, int32_t>(g, enc_a, encoder(b, g.ldb, g.trans_b, true), micro_u8s8_vnni, int32_emit(g, c));
  std::vector<int32_t> compensation(g.n, 0);
  for (int p = 0; p < g.k; ++p)
    for (int j = 0; j < g.n; ++j) compensation[j] += 128 * int32_t(ob.at(p, j));
#pragma omp parallel for schedule(static)
  for (int i = 0; i < g.m; ++i)
    for (int j = 0; j < g.n; ++j) c[size_t(i) * g.ldc + j] -= compensation[j];
}

}  // namespace paradnn::cpu::lowp
