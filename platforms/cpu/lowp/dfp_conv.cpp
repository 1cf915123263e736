#include "platforms/cpu/lowp/dfp_conv.hpp"
#include "platforms/cpu/lowp/dfp_conv_amx.hpp"

#include <fmt/core.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>

namespace paradnn::cpu::lowp {

// GCC 12's AVX-512 headers pass _mm512_undefined_*() to the builtins and warn about it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

// A channel pair (two int16) read as one 32-bit word from int16 storage.
typedef int32_t __attribute__((may_alias)) word_t;

constexpr int kChunk = 128;  // backward-weights: pixels per packed gradient chunk (64 pairs: one int32 chain at 4095); deep layers take 2x / 4x

int round_up(int a, int b) { return (a + b - 1) / b * b; }

// Output columns in panels of 32, the last one 16 wide when the padded count needs it.
struct Panel {
  int j0, width;
};
std::vector<Panel> panels(int n) {
  std::vector<Panel> p;
  const int np = round_up(n, 16);
  for (int j0 = 0; j0 < np; j0 += 32) p.push_back({j0, std::min(32, np - j0)});
  return p;
}

void check_shape(const ConvShape& s) {
  if (s.n < 1 || s.c < 1 || s.k < 1 || s.h < 1 || s.w < 1 || s.r < 1 || s.s < 1 || s.stride < 1 || s.pad < 0 ||
      s.oh() < 1 || s.ow() < 1)
    throw std::invalid_argument("dfp conv: bad shape " + s.str());
  if ((s.in == ActLayout::nChw16c && s.c % 16) || (s.out == ActLayout::nChw16c && s.k % 16))
    throw std::invalid_argument("dfp conv: nChw16c needs channels in multiples of 16: " + s.str());
}

// ---------------------------------------------------------------------------------------------
// Quantize-and-pack: f32 NHWC into the padded int16 layout.

// Grad-output padding for backward-data: input row ih (phase (ih + pad) % stride) reads output
// rows (ih + pad) / stride - j, j = 0 .. (R - 1) / stride.
struct Pads {
  int top, bottom, left, right;
};
Pads grad_pads(const ConvShape& s) {
  const int top = std::max(0, (s.r - 1) / s.stride - s.pad / s.stride);
  const int bottom = std::max(0, (s.h - 1 + s.pad) / s.stride - (s.oh() - 1));
  const int left = std::max(0, (s.s - 1) / s.stride - s.pad / s.stride);
  const int right = std::max(0, (s.w - 1 + s.pad) / s.stride - (s.ow() - 1));
  return {top, bottom, left, right};
}

void set_layout(DfpActivation& a, int n, int h, int w, int c, const Pads& p) {
  const int hp = h + p.top + p.bottom, wp = w + p.left + p.right, cp = round_up(c, 2);
  const size_t need = size_t(n) * hp * wp * cp;
  if (a.n == n && a.h == h && a.w == w && a.c == c && a.top == p.top && a.left == p.left && a.hp == hp && a.wp == wp &&
      a.cp == cp && a.data.size() == need)
    return;  // borders are still zero: only the interior is ever written
  a.data.assign(need, 0);
  a.n = n, a.h = h, a.w = w, a.c = c, a.top = p.top, a.left = p.left, a.hp = hp, a.wp = wp, a.cp = cp;
}

// int16 source: a copy; returns max |q| (as a float, exactly).
float copy_run(const int16_t* x, int n, int16_t* q) {
  int m = 0;
  for (int i = 0; i < n; ++i) {
    q[i] = x[i];
    m = std::max(m, std::abs(int(x[i])));
  }
  return float(m);
}

// Writes the logical tensor (n x h x w x c, in `layout`) into a's interior with `run` (NHWC
// rows: run(in, count, out)) or `blocked` (nChw16c rows: blocked(in, blocks, block_stride,
// pixels, out, out_stride), as dfp_quantize_max_blocked); both return their max |value|, and
// so does fill, over the tensor. Channels padded to even (the 3-channel stem) go through a row
// buffer: one run a row, not one a pixel.
template <typename T, typename Run, typename Blocked>
float fill(DfpActivation& a, const T* src, ActLayout layout, Run run, Blocked blocked) {
  const int n = a.n, h = a.h, w = a.w, c = a.c, cp = a.cp;
  float m = 0;
#pragma omp parallel reduction(max : m)
  {
    std::vector<int16_t> row_q(c == cp ? 0 : size_t(w) * c);
#pragma omp for schedule(static)
    for (int row = 0; row < n * h; ++row) {
      const int ni = row / h, y = row % h;
      const T* in = src + size_t(row) * w * c;
      int16_t* out = a.data.data() + ((size_t(ni) * a.hp + y + a.top) * a.wp + a.left) * cp;
      if (layout == ActLayout::nChw16c) {
        m = std::max(m, blocked(src + (size_t(ni) * (c / 16) * h + y) * w * 16, c / 16, size_t(h) * w * 16, w, out, cp));
      } else if (c == cp) {
        m = std::max(m, run(in, w * c, out));
      } else {
        m = std::max(m, run(in, w * c, row_q.data()));
        for (int x = 0; x < w; ++x) {
          std::copy_n(row_q.data() + size_t(x) * c, c, out + size_t(x) * cp);
          out[size_t(x) * cp + c] = 0;
        }
      }
    }
  }
  return m;
}

void pack_f32(DfpActivation& a, const float* x, ActLayout layout, int qmax) {
  dfp_quantize_speculating(a.exponent, a.qmax, qmax, [&](int e) {
    return fill(
        a, x, layout, [e](const float* in, int cnt, int16_t* out) { return dfp_quantize_max(in, size_t(cnt), e, out); },
        [e](const float* in, int blocks, size_t bs, int px, int16_t* out, int stride) {
          return dfp_quantize_max_blocked(in, blocks, bs, px, e, out, size_t(stride));
        });
  });
}

void pack_s16(DfpActivation& a, const int16_t* x, ActLayout layout, int exponent) {
  a.exponent = exponent;
  a.qmax = int(fill(
      a, x, layout, [](const int16_t* in, int cnt, int16_t* out) { return copy_run(in, cnt, out); },
      [](const int16_t* in, int blocks, size_t bs, int px, int16_t* out, int stride) {
        float m = 0;
        for (int p = 0; p < px; ++p)
          for (int b = 0; b < blocks; ++b) m = std::max(m, copy_run(in + b * bs + size_t(p) * 16, 16, out + size_t(p) * stride + 16 * b));
        return m;
      }));
}

// Packed weights. fwd: for each 32/16-wide panel of K (at word offset j0 * taps * cw), words
// [tap][c pair][width] = (w[k][tap][2g], w[k][tap][2g + 1]); bwd: panels of C, words
// [tap][k pair][width] = (w[2g][tap][c], w[2g + 1][tap][c]); zero past K, C.
void pack_weights_words(DfpConvWeights& w, bool need_fwd, bool need_bwd) {
  const int taps = w.r * w.s, cw = (w.c + 1) / 2, kw = (w.k + 1) / 2, C = w.c, K = w.k;
  // Word (c pair g) of row (k, t), zero past C; row pointers into q (KRSC).
  const auto pair_c = [&](const int16_t* row, int c) -> int32_t {
    return int32_t(uint32_t(uint16_t(row[c])) | (c + 1 < C ? uint32_t(uint16_t(row[c + 1])) << 16 : 0u));
  };
  // Resized, not re-zeroed: every word is written below (zeros past K, C included).
  w.fwd.resize(need_fwd ? size_t(round_up(K, 16)) * taps * cw : 0);
  w.bwd.resize(need_bwd ? size_t(round_up(C, 16)) * taps * kw : 0);
  const std::vector<Panel> pk = need_fwd ? panels(K) : std::vector<Panel>{}, pc = need_bwd ? panels(C) : std::vector<Panel>{};
  const int np = int(pk.size() + pc.size());
  // One panel per task (in parallel: at 512 x 512 x 3x3 the serial element-wise loops took
  // 13 ms a call): the panel's words (taps * C / 2 * 128 B, 295 KB at C = 512, 3x3) stay in L2
  // while the weight rows are read in order. Small weights (the stem's) stay on this thread.
#pragma omp parallel for schedule(dynamic, 1) if (w.q.size() > (size_t(1) << 16))
  for (int task = 0; task < np; ++task) {
    if (task < int(pk.size())) {
      const Panel p = pk[task];
      int32_t* out = w.fwd.data() + size_t(p.j0) * taps * cw;
      if (has_avx512bw() && C % 2 == 0) {  // the GEMM's transposing pack, a tap at a time
        for (int t = 0; t < taps; ++t)
          pack_pair_words(w.q.data() + (size_t(p.j0) * taps + t) * C, taps * C, std::min(p.width, K - p.j0), cw, p.width,
                          out + size_t(t) * cw * p.width);
        continue;
      }
      for (int j = 0; j < p.width; ++j) {
        const int k = p.j0 + j;
        for (int t = 0; t < taps; ++t) {
          int32_t* o = out + size_t(t) * cw * p.width + j;
          if (k >= K) {
            for (int g = 0; g < cw; ++g) o[size_t(g) * p.width] = 0;
            continue;
          }
          const int16_t* row = w.q.data() + (size_t(k) * taps + t) * C;
          for (int g = 0; g < cw; ++g) o[size_t(g) * p.width] = pair_c(row, 2 * g);
        }
      }
    } else {
      const Panel p = pc[task - pk.size()];
      int32_t* out = w.bwd.data() + size_t(p.j0) * taps * kw;
      const int live = std::min(p.width, C - p.j0);
      if (has_avx512bw()) {  // the GEMM's pair interleave, a tap at a time
        for (int t = 0; t < taps; ++t)
          interleave_row_pairs(w.q.data() + size_t(t) * C + p.j0, taps * C, live, kw, K / 2, p.width, out + size_t(t) * kw * p.width);
        continue;
      }
      for (int g = 0; g < kw; ++g)
        for (int t = 0; t < taps; ++t) {
          const int16_t* r0 = w.q.data() + (size_t(2 * g) * taps + t) * C + p.j0;
          const int16_t* r1 = 2 * g + 1 < K ? w.q.data() + (size_t(2 * g + 1) * taps + t) * C + p.j0 : nullptr;
          int32_t* o = out + (size_t(t) * kw + g) * p.width;
          for (int j = 0; j < live; ++j)
            o[j] = int32_t(uint32_t(uint16_t(r0[j])) | (r1 ? uint32_t(uint16_t(r1[j])) << 16 : 0u));
          for (int j = live; j < p.width; ++j) o[j] = 0;
        }
    }
  }
}

// The forms `isa`'s products read: tile panels where amx_int8 takes the product, else words.
void pack_for(const ConvShape& s, DfpConvWeights& w, IntIsa isa) {
  const bool tiles = isa == IntIsa::amx_int8;
  w.isa = isa;
  pack_weights_words(w, !(tiles && amx::takes_forward(s)), !(tiles && amx::takes_backward_data(s)));
  if (tiles) amx::pack_weights(s, w);
}

void check_weights(const ConvShape& s, const DfpConvWeights& w, IntIsa isa) {
  if (w.k != s.k || w.c != s.c || w.r != s.r || w.s != s.s) throw std::invalid_argument("dfp conv: weights of another shape");
  if ((w.isa == IntIsa::amx_int8) != (isa == IntIsa::amx_int8))
    throw std::invalid_argument("dfp conv: weights packed for " + to_string(w.isa) + ", product on " + to_string(isa));
}

void weights_shape(const ConvShape& s, DfpConvWeights& w) {
  check_shape(s);
  w.k = s.k, w.c = s.c, w.r = s.r, w.s = s.s;
  w.q.resize(size_t(s.k) * s.r * s.s * s.c);
}

// ---------------------------------------------------------------------------------------------
// Gather kernels (forward, backward-data): a tile of MR pixels x one panel of W = 16 * NV
// output channels. Pixel i's reduction words are a[i][off[t] + g] for tap t, pair g; the
// panel's are b[t][g * W + j]. int32 chains of at most `flush` pairs, summed in f32.

struct GatherArgs {
  const int* a_off;
  const int32_t* const* b_tap;
  int taps, groups, flush;
  float scale;
  const float* bias;  // at the panel's first column, or null
  int j0, cols;       // panel's first output column, valid columns in it
  int vstride;        // floats from one 16-column vector of an output row to the next (16: NHWC)
  bool stream;        // non-temporal stores for aligned full vectors (outputs larger than the caches)
};

#define PARADNN_DFP_MADD512(c, a, b) _mm512_add_epi32(c, _mm512_madd_epi16(a, b))

// clang-format off
#define PARADNN_DFP_GATHER_BODY(DOT)                                                                                   \
  constexpr int W = 16 * NV;                                                                                           \
  __m512i c[MR][NV];                                                                                                   \
  __m512 f[MR][NV];                                                                                                    \
  _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i)                                                                \
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; ++v) c[i][v] = _mm512_setzero_si512(), f[i][v] = _mm512_setzero_ps(); \
  int budget = g.flush;                                                                                                \
  for (int t = 0; t < g.taps; ++t) {                                                                                   \
    const int32_t* bt = g.b_tap[t];                                                                                    \
    const word_t* ap[MR];                                                                                              \
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i) ap[i] = a[i] + g.a_off[t];                                   \
    for (int q = 0; q < g.groups;) {                                                                                   \
      const int end = q + std::min(g.groups - q, budget);                                                              \
      budget -= end - q;                                                                                               \
      for (; q < end; ++q) {                                                                                           \
        __m512i b[NV];                                                                                                 \
        _Pragma("GCC unroll 16") for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_si512(bt + q * W + 16 * v);          \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i) {                                                        \
          const __m512i av = _mm512_set1_epi32(ap[i][q]);                                                              \
          _Pragma("GCC unroll 16") for (int v = 0; v < NV; ++v) c[i][v] = DOT(c[i][v], av, b[v]);                      \
        }                                                                                                              \
      }                                                                                                                \
      if (budget == 0) {                                                                                               \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i)                                                          \
          _Pragma("GCC unroll 16") for (int v = 0; v < NV; ++v) {                                                      \
            f[i][v] = _mm512_add_ps(f[i][v], _mm512_maskz_cvtepi32_ps(0xffff, c[i][v]));                               \
            c[i][v] = _mm512_setzero_si512();                                                                          \
          }                                                                                                            \
        budget = g.flush;                                                                                              \
      }                                                                                                                \
    }                                                                                                                  \
  }                                                                                                                    \
  const __m512 sc = _mm512_set1_ps(g.scale);                                                                           \
  _Pragma("GCC unroll 16") for (int v = 0; v < NV; ++v) {                                                              \
    const int live = std::clamp(g.cols - 16 * v, 0, 16);                                                               \
    const __mmask16 m = __mmask16((1u << live) - 1);                                                                   \
    const __m512 bias = g.bias ? _mm512_maskz_loadu_ps(m, g.bias + 16 * v) : _mm512_setzero_ps();                      \
    _Pragma("GCC unroll 16") for (int i = 0; i < rows; ++i) {                                                          \
      const __m512 sum = _mm512_add_ps(f[i][v], _mm512_maskz_cvtepi32_ps(0xffff, c[i][v]));                            \
      float* dst = out[i] + size_t((g.j0 >> 4) + v) * g.vstride;                                                       \
      if (g.stream && live == 16 && (reinterpret_cast<uintptr_t>(dst) & 63) == 0)                                      \
        _mm512_stream_ps(dst, _mm512_fmadd_ps(sum, sc, bias));                                                         \
      else                                                                                                             \
        _mm512_mask_storeu_ps(dst, m, _mm512_fmadd_ps(sum, sc, bias));                                                 \
    }                                                                                                                  \
  }
// clang-format on

using GatherFn = void (*)(const word_t* const* a, float* const* out, int rows, const GatherArgs& g);

template <int MR, int NV>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma"))) void gather_vnni(const word_t* const* a, float* const* out,
                                                                                    int rows, const GatherArgs& g) {
  PARADNN_DFP_GATHER_BODY(_mm512_dpwssd_epi32)
}

template <int MR, int NV>
__attribute__((target("avx512f,avx512bw,avx512vl,fma"))) void gather_bw(const word_t* const* a, float* const* out, int rows,
                                                                        const GatherArgs& g) {
  PARADNN_DFP_GATHER_BODY(PARADNN_DFP_MADD512)
}

// Plain loops (vpmaddwd's arithmetic: two int16 products per 32-bit lane), compiled for AVX2
// (auto-vectorized) and for the baseline.
template <int MR, int NV>
inline __attribute__((always_inline)) void gather_portable(const word_t* const* a, float* const* out, int rows,
                                                           const GatherArgs& g) {
  constexpr int W = 16 * NV;
  int32_t c[MR][W] = {};
  float f[MR][W] = {};
  int budget = g.flush;
  for (int t = 0; t < g.taps; ++t) {
    const int32_t* bt = g.b_tap[t];
    for (int q = 0; q < g.groups; ++q) {
      for (int i = 0; i < MR; ++i) {
        const int32_t av = a[i][g.a_off[t] + q];
        const int32_t a0 = int16_t(av), a1 = int16_t(uint32_t(av) >> 16);
        for (int j = 0; j < W; ++j) {
          const int32_t bv = bt[q * W + j];
          c[i][j] += a0 * int16_t(bv) + a1 * int16_t(uint32_t(bv) >> 16);
        }
      }
      if (--budget == 0) {
        for (int i = 0; i < MR; ++i)
          for (int j = 0; j < W; ++j) f[i][j] += float(c[i][j]), c[i][j] = 0;
        budget = g.flush;
      }
    }
  }
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < std::min(W, g.cols); ++j)
      out[i][size_t((g.j0 + j) >> 4) * g.vstride + ((g.j0 + j) & 15)] = std::fma(f[i][j] + float(c[i][j]), g.scale, g.bias ? g.bias[j] : 0.0f);
}

template <int MR, int NV>
__attribute__((target("avx2,fma"))) void gather_avx2(const word_t* const* a, float* const* out, int rows, const GatherArgs& g) {
  gather_portable<MR, NV>(a, out, rows, g);
}
template <int MR, int NV>
void gather_scalar(const word_t* const* a, float* const* out, int rows, const GatherArgs& g) {
  gather_portable<MR, NV>(a, out, rows, g);
}

// Pixels per tile (MR) for a panel set: 12 with 32-wide panels (24 accumulators), 16 when the
// only panel is 16 wide; the portable loops take 4.
struct GatherKernels {
  int mr;
  GatherFn wide, narrow;  // 32- and 16-wide panels
};
GatherKernels gather_kernels(IntIsa isa, bool only_narrow) {
  switch (isa) {
    case IntIsa::amx_int8:  // shapes the tiles do not take
    case IntIsa::avx512_vnni:
      return only_narrow ? GatherKernels{16, nullptr, gather_vnni<16, 1>} : GatherKernels{12, gather_vnni<12, 2>, gather_vnni<12, 1>};
    case IntIsa::avx512bw:
      return only_narrow ? GatherKernels{16, nullptr, gather_bw<16, 1>} : GatherKernels{12, gather_bw<12, 2>, gather_bw<12, 1>};
    case IntIsa::avx2: return {4, gather_avx2<4, 2>, gather_avx2<4, 1>};
    case IntIsa::scalar: return {4, gather_scalar<4, 2>, gather_scalar<4, 1>};
  }
  return {4, gather_scalar<4, 2>, gather_scalar<4, 1>};
}

// Pixels that reach the same taps: a run of the caller's pixel order, and the taps (word
// offset from the pixel's word pointer; index into the packed weights' taps). Taps a pixel
// does not reach would read only padding: they are left out, not multiplied by zeros (at
// 2x2 with a 3x3 kernel, 5 of 9 taps).
struct GatherSegment {
  int first = 0, count = 0;
  std::vector<int> a_off, tap_idx;
};

// Runs the gather kernels over the segments' pixels (pixel(i, a, out) gives pixel i's word
// pointer and output row: its first 16 columns, the next 16 `vstride` floats on), every panel
// of `cols` output columns (packed: panels of [taps_all][groups][width] words).
template <typename Pixel>
void gather_all(IntIsa isa, const std::vector<GatherSegment>& segs, int cols, const int32_t* packed, int groups, int taps_all,
                int flush, float scale, const float* bias, int vstride, Pixel pixel) {
  const std::vector<Panel> ps = panels(cols);
  const int np = int(ps.size());
  int pixels = 0;
  for (const GatherSegment& sg : segs) pixels += sg.count;
  // Outputs past the last-level cache's share are written around it (no read for ownership).
  const bool stream = vector_isa(isa) == IntIsa::avx512_vnni || isa == IntIsa::avx512bw ? double(pixels) * cols * 4 > 8e6 : false;
  const GatherKernels kern = gather_kernels(isa, np == 1 && ps[0].width == 16);
  std::vector<std::vector<const int32_t*>> b_tap(segs.size() * np);
  std::vector<GatherArgs> args(segs.size() * np);
  for (size_t sg = 0; sg < segs.size(); ++sg)
    for (int p = 0; p < np; ++p) {
      auto& bt = b_tap[sg * np + p];
      for (int t : segs[sg].tap_idx) bt.push_back(packed + size_t(ps[p].j0) * taps_all * groups + size_t(t) * groups * ps[p].width);
      args[sg * np + p] = {segs[sg].a_off.data(), bt.data(), int(bt.size()), groups, flush, scale,
                           bias ? bias + ps[p].j0 : nullptr, ps[p].j0, std::min(ps[p].width, cols - ps[p].j0), vstride, stream};
    }
  struct Tile {
    int seg, first, rows;
  };
  std::vector<Tile> tiles;
  for (size_t sg = 0; sg < segs.size(); ++sg)
    for (int i = 0; i < segs[sg].count; i += kern.mr) tiles.push_back({int(sg), segs[sg].first + i, std::min(kern.mr, segs[sg].count - i)});
  // Tasks: a group of kGroup tiles x one panel. A panel's words (taps * groups * 128 B: 295 KB
  // at C = 512, 3x3) stay in L2 across the group's tiles, and deep layers (few pixels, 4.7 MB
  // of weights) split over panels instead of streaming all weights through every tile.
  constexpr int kGroup = 8;
  const int ntiles = int(tiles.size()), ngroups = (ntiles + kGroup - 1) / kGroup;
#pragma omp parallel
  {
    // Dynamic: on shared cores a descheduled thread's static share would stall the join.
#pragma omp for schedule(dynamic, 1)
    for (int task = 0; task < ngroups * np; ++task) {
      const int grp = task / np, p = task % np;
      const GatherFn fn = ps[p].width == 32 ? kern.wide : kern.narrow;
      for (int u = grp * kGroup; u < std::min(ntiles, (grp + 1) * kGroup); ++u) {
        const Tile& tl = tiles[u];
        const word_t* a[16];
        float* out[16];
        for (int i = 0; i < kern.mr; ++i) pixel(tl.first + std::min(i, tl.rows - 1), a[i], out[i]);
        fn(a, out, tl.rows, args[size_t(tl.seg) * np + p]);
      }
    }
    if (stream) _mm_sfence();  // the streamed stores, visible before the join
  }
}

// Positions grouped by the interval of taps [lo, hi) they reach (reached(pos, j): the tap
// reads data, not padding; the reached taps of a position are an interval).
struct TapRun {
  int lo = 0, hi = 0;
  std::vector<int> pos;
};
template <typename Reached>
std::vector<TapRun> tap_runs(const std::vector<int>& positions, int taps, Reached reached) {
  std::vector<TapRun> runs;
  for (int p : positions) {
    int lo = 0;
    while (lo < taps && !reached(p, lo)) ++lo;
    int hi = lo;
    while (hi < taps && reached(p, hi)) ++hi;
    auto it = std::find_if(runs.begin(), runs.end(), [&](const TapRun& r) { return r.lo == lo && r.hi == hi; });
    if (it == runs.end()) it = runs.insert(runs.end(), TapRun{lo, hi, {}});
    it->pos.push_back(p);
  }
  return runs;
}

std::vector<int> iota_vec(int n) {
  std::vector<int> v(n);
  for (int i = 0; i < n; ++i) v[i] = i;
  return v;
}

// The forward pass's output rows and columns by the kernel rows / columns they reach.
std::vector<TapRun> forward_row_runs(const ConvShape& s) {
  return tap_runs(iota_vec(s.oh()), s.r, [&](int oy, int r) { return unsigned(oy * s.stride - s.pad + r) < unsigned(s.h); });
}
std::vector<TapRun> forward_col_runs(const ConvShape& s) {
  return tap_runs(iota_vec(s.ow()), s.s, [&](int ox, int q) { return unsigned(ox * s.stride - s.pad + q) < unsigned(s.w); });
}

// Per (row run, column run) block: appends the block's pixels of every image to `order`, as
// emit(n, y, x), then calls block(rows, cols, first), first being where the block begins in
// `order`.
template <typename T, typename Emit, typename Block>
void order_by_runs(const std::vector<TapRun>& row_runs, const std::vector<TapRun>& col_runs, int n, std::vector<T>& order,
                   Emit emit, Block block) {
  for (const TapRun& rr : row_runs)
    for (const TapRun& cr : col_runs) {
      const int first = int(order.size());
      for (int ni = 0; ni < n; ++ni)
        for (int y : rr.pos)
          for (int x : cr.pos) order.push_back(emit(ni, y, x));
      block(rr, cr, first);
    }
}

// A gather pixel: its word offset in the packed operand and its output row's offset (floats).
struct PixelAt {
  size_t a, out;
};

// A pass's pixels in gather order and its segments: they depend on the shape (and so on the
// packs' geometry) only, and ordering the pixels is serial work (a stem's 32768 pixels) that
// left the other threads waiting at every call. Built once per shape and pass, per calling
// thread; a thread keeping more than 64 shapes starts over.
struct GatherPlan {
  std::vector<PixelAt> order;
  std::vector<GatherSegment> segs;
};
template <typename Build>
const GatherPlan& cached_plan(int pass, const ConvShape& s, Build build) {
  using Key = std::array<int, 12>;
  static thread_local std::map<Key, GatherPlan> plans;
  const Key key{pass, s.n, s.c, s.k, s.h, s.w, s.r, s.s, s.stride, s.pad, int(s.in), int(s.out)};
  if (const auto it = plans.find(key); it != plans.end()) return it->second;
  if (plans.size() >= 64) plans.clear();
  GatherPlan& plan = plans[key];
  build(plan.order, plan.segs);
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Backward-weights kernels: per tap, a tile of MR output channels k x one panel of W = 16 * NV
// input channels c, reduced over pixel pairs. A (the gradient, packed per chunk): words
// a[g * MR + i] = (dy[2g][k0 + i], dy[2g + 1][k0 + i]); B: the input's pixels 2g and 2g + 1
// at the tap, interleaved in registers (their lanes come out permuted; undone at the flush).
// The f32 sums are added into acc[i * ldacc + j].

struct PairArgs {
  const int32_t* a;          // [pair][MR] words
  const int16_t* const* px;  // 2 * pairs pixel pointers (at the tap and panel)
  int pairs, flush, cols;    // cols: loadable channels in the panel (masked loads)
  float* acc;
  int ldacc;
};
using PairFn = void (*)(const PairArgs& p);

// clang-format off
#define PARADNN_DFP_PAIR_DRAIN                                                                                         \
  do {                                                                                                                 \
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i) {                                                            \
      float* acc = p.acc + size_t(i) * p.ldacc;                                                                        \
      if constexpr (NV == 2) {                                                                                         \
        const __m512i lo = _mm512_permutex2var_epi32(c[i][0], _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23), c[i][1]); \
        const __m512i hi = _mm512_permutex2var_epi32(c[i][0], _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31), c[i][1]); \
        _mm512_storeu_ps(acc, _mm512_add_ps(_mm512_loadu_ps(acc), _mm512_maskz_cvtepi32_ps(0xffff, lo)));              \
        _mm512_storeu_ps(acc + 16, _mm512_add_ps(_mm512_loadu_ps(acc + 16), _mm512_maskz_cvtepi32_ps(0xffff, hi)));    \
      } else {                                                                                                         \
        const __m512i lo = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15), c[i][0]); \
        _mm512_storeu_ps(acc, _mm512_add_ps(_mm512_loadu_ps(acc), _mm512_maskz_cvtepi32_ps(0xffff, lo)));              \
      }                                                                                                                \
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; ++v) c[i][v] = _mm512_setzero_si512();                          \
    }                                                                                                                  \
  } while (0)

#define PARADNN_DFP_PAIR_BODY(DOT)                                                                                     \
  __m512i c[MR][NV];                                                                                                   \
  const __mmask32 m = p.cols >= 32 ? __mmask32(0xffffffffu) : __mmask32((1u << p.cols) - 1);                           \
  for (int q0 = 0; q0 < p.pairs; q0 += p.flush) {                                                                      \
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i)                                                              \
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; ++v) c[i][v] = _mm512_setzero_si512();                          \
    const int q1 = std::min(p.pairs, q0 + p.flush);                                                                    \
    const int32_t* aq = p.a + size_t(q0) * MR;                                                                         \
    for (int q = q0; q < q1; ++q, aq += MR) {                                                                          \
      __m512i b[NV];                                                                                                   \
      if constexpr (NV == 2) {                                                                                         \
        const __m512i x0 = _mm512_maskz_loadu_epi16(m, p.px[2 * q]), x1 = _mm512_maskz_loadu_epi16(m, p.px[2 * q + 1]); \
        b[0] = _mm512_unpacklo_epi16(x0, x1);                                                                          \
        b[NV - 1] = _mm512_unpackhi_epi16(x0, x1);                                                                     \
      } else {                                                                                                         \
        const __m256i x0 = _mm256_maskz_loadu_epi16(__mmask16(m), p.px[2 * q]), x1 = _mm256_maskz_loadu_epi16(__mmask16(m), p.px[2 * q + 1]); \
        b[0] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_unpacklo_epi16(x0, x1)), _mm256_unpackhi_epi16(x0, x1), 1); \
      }                                                                                                                \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; ++i) {                                                          \
        const __m512i av = _mm512_set1_epi32(aq[i]);                                                                   \
        _Pragma("GCC unroll 16") for (int v = 0; v < NV; ++v) {                                                        \
          c[i][v] = DOT(c[i][v], av, b[v]);                                                                            \
          __asm__("" : "+v"(c[i][v])); /* keeps GCC from copying accumulators around */                                \
        }                                                                                                              \
      }                                                                                                                \
    }                                                                                                                  \
    PARADNN_DFP_PAIR_DRAIN;                                                                                            \
  }
// clang-format on

template <int MR, int NV>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void pair_vnni(const PairArgs& p) {
  PARADNN_DFP_PAIR_BODY(_mm512_dpwssd_epi32)
}
template <int MR, int NV>
__attribute__((target("avx512f,avx512bw,avx512vl"))) void pair_bw(const PairArgs& p) {
  PARADNN_DFP_PAIR_BODY(PARADNN_DFP_MADD512)
}

template <int MR, int NV>
inline __attribute__((always_inline)) void pair_portable(const PairArgs& p) {
  constexpr int W = 16 * NV;
  int32_t c[MR][W] = {};
  int budget = p.flush;
  auto drain = [&] {
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < W; ++j) p.acc[size_t(i) * p.ldacc + j] += float(c[i][j]), c[i][j] = 0;
  };
  const int live = std::min(W, p.cols);
  for (int q = 0; q < p.pairs; ++q) {
    const int16_t *x0 = p.px[2 * q], *x1 = p.px[2 * q + 1];
    for (int i = 0; i < MR; ++i) {
      const int32_t av = p.a[size_t(q) * MR + i];
      const int32_t a0 = int16_t(av), a1 = int16_t(uint32_t(av) >> 16);
      for (int j = 0; j < live; ++j) c[i][j] += a0 * x0[j] + a1 * x1[j];
    }
    if (--budget == 0) drain(), budget = p.flush;
  }
  if (budget != p.flush) drain();
}
template <int MR, int NV>
__attribute__((target("avx2"))) void pair_avx2(const PairArgs& p) {
  pair_portable<MR, NV>(p);
}
template <int MR, int NV>
void pair_scalar(const PairArgs& p) {
  pair_portable<MR, NV>(p);
}

constexpr int kPairMR = 8;  // output channels per backward-weights tile (every ISA)

PairFn pair_kernel(IntIsa isa, int width) {
  const bool wide = width == 32;
  switch (isa) {
    case IntIsa::amx_int8:
    case IntIsa::avx512_vnni: return wide ? pair_vnni<kPairMR, 2> : pair_vnni<kPairMR, 1>;
    case IntIsa::avx512bw: return wide ? pair_bw<kPairMR, 2> : pair_bw<kPairMR, 1>;
    case IntIsa::avx2: return wide ? pair_avx2<kPairMR, 2> : pair_avx2<kPairMR, 1>;
    case IntIsa::scalar: return wide ? pair_scalar<kPairMR, 2> : pair_scalar<kPairMR, 1>;
  }
  return wide ? pair_scalar<kPairMR, 2> : pair_scalar<kPairMR, 1>;
}

// Interleaves two gradient pixels' channels into words (k < K; zero up to kp), word k at
// out[(k / 8) * ps + k % 8] (panels of 8 output channels, ps words apart), and adds both
// pixels' values to bsum (int32: a chunk's 128 pixels cannot overflow it).
__attribute__((target("avx512f,avx512bw,avx512vl"))) void interleave_avx512(const int16_t* lo, const int16_t* hi, int k, int kp,
                                                                             int ps, int32_t* out, int32_t* bsum) {
  for (int j = 0; j < kp; j += 16) {
    const __mmask16 m = k - j >= 16 ? __mmask16(0xffff) : k > j ? __mmask16((1u << (k - j)) - 1) : __mmask16(0);
    const __m256i a = _mm256_maskz_loadu_epi16(m, lo + j), b = _mm256_maskz_loadu_epi16(m, hi + j);
    const __m512i words = _mm512_or_si512(_mm512_cvtepu16_epi32(a), _mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
    int32_t* panel = out + size_t(j / 8) * ps;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(panel), _mm512_castsi512_si256(words));
    if (j + 8 < kp) _mm256_storeu_si256(reinterpret_cast<__m256i*>(panel + ps), _mm512_extracti64x4_epi64(words, 1));
    const __m512i sum = _mm512_add_epi32(_mm512_cvtepi16_epi32(a), _mm512_cvtepi16_epi32(b));
    _mm512_mask_storeu_epi32(bsum + j, m, _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, bsum + j), sum));
  }
}

void interleave(const int16_t* lo, const int16_t* hi, int k, int kp, int ps, int32_t* out, int32_t* bsum) {
  if (has_avx512bw()) return interleave_avx512(lo, hi, k, kp, ps, out, bsum);
  for (int j = 0; j < kp; ++j) {
    const uint32_t word = j < k ? uint32_t(uint16_t(lo[j])) | uint32_t(uint16_t(hi[j])) << 16 : 0u;
    out[size_t(j / 8) * ps + j % 8] = int32_t(word);
    if (j < k) bsum[j] += lo[j] + hi[j];
  }
}

// The pack matches the shape and the padding its product reads (dfp_pack_input: the conv's pad;
// dfp_pack_grad_output: grad_pads).
void check_act(const DfpActivation& a, int n, int h, int w, int c, int top, int left, const char* what) {
  if (a.n != n || a.h != h || a.w != w || a.c != c || a.top != top || a.left != left || a.data.empty())
    throw std::invalid_argument(std::string("dfp conv: ") + what + " was packed for another shape (use its dfp_pack_*)");
}

// sum[k] += d[k], k < n (int16 into int32).
__attribute__((target("avx512f,avx512bw,avx512vl"))) void add_row_avx512(const int16_t* d, int n, int32_t* sum) {
  for (int k = 0; k < n; k += 16) {
    const __mmask16 m = n - k >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - k)) - 1);
    _mm512_mask_storeu_epi32(sum + k, m,
                             _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, sum + k), _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(m, d + k))));
  }
}
void add_row(const int16_t* __restrict d, int n, int32_t* __restrict sum) {
  if (has_avx512bw()) return add_row_avx512(d, n, sum);
  for (int k = 0; k < n; ++k) sum[k] += d[k];
}

// rp words of tmp into tiles of 8 rows: out[(row / 8) * ps + row % 8].
__attribute__((target("avx512f,avx512bw,avx512vl"))) void copy_row_tiles(const int32_t* tmp, int rp, int32_t* out, int ps) {
  for (int b = 0; b < rp / 8; ++b)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + size_t(b) * ps), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tmp + 8 * b)));
}

// One pixel pair's (tap, c) words for the small-C path: word tap * c_n + c = (lo[toff[tap] + c],
// hi[toff[tap] + c]) (hi null: zero), written 8 rows a tile: out[(row / 8) * ps + row % 8].
// c_n <= 8; tmp: rp words, zero past taps * c_n.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void small_c_words_avx512(const int16_t* lo, const int16_t* hi,
                                                                                 const int* toff, int taps, int c_n, int rp,
                                                                                 int32_t* tmp, int32_t* out, int ps) {
  const __mmask8 m = __mmask8((1u << c_n) - 1);
  for (int t = 0; t < taps; ++t) {
    const __m256i l = _mm256_cvtepu16_epi32(_mm_maskz_loadu_epi16(m, lo + toff[t]));
    const __m256i h = hi ? _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_maskz_loadu_epi16(m, hi + toff[t])), 16) : _mm256_setzero_si256();
    _mm256_mask_storeu_epi32(tmp + t * c_n, m, _mm256_or_si256(l, h));
  }
  copy_row_tiles(tmp, rp, out, ps);
}

// The same words a kernel row at a time where a row's taps lie side by side in x (s * cp <= 32
// int16, as the 7x7 stem's 7 pixels x 4 channels): one load per pixel and two vpermt2w pick
// every (tap, c) pair into its word, instead of a load, widen and store per tap.
struct RowWords {
  int r_n = 0, s_n = 0, c_n = 0;
  int row_step = 0;  // int16 from a kernel row's first tap to the next row's
  int load = 0;      // int16 a row's taps span (s * cp)
  alignas(64) int16_t idx[2][32] = {};  // vpermt2w tables for words 0-15 and 16-31 of a row
};

RowWords row_words(const ConvShape& s, const DfpActivation& x) {
  RowWords rw;
  rw.r_n = s.r, rw.s_n = s.s, rw.c_n = s.c, rw.row_step = x.wp * x.cp, rw.load = s.s * x.cp;
  for (int j = 0; j < std::min(32, s.s * s.c); ++j) {
    const int e = j / s.c * x.cp + j % s.c;  // tap j / c, channel j % c
    rw.idx[j / 16][2 * (j % 16)] = int16_t(e);
    rw.idx[j / 16][2 * (j % 16) + 1] = int16_t(32 + e);  // the same element of hi
  }
  return rw;
}

bool row_words_fit(const ConvShape& s, const DfpActivation& x) { return has_avx512bw() && s.s * x.cp <= 32; }

__attribute__((target("avx512f,avx512bw,avx512vl"))) void small_c_row_words(const int16_t* lo, const int16_t* hi,
                                                                              const RowWords& rw, int rp, int32_t* tmp,
                                                                              int32_t* out, int ps) {
  const int per_row = rw.s_n * rw.c_n;
  const __mmask32 lm = rw.load >= 32 ? __mmask32(~0u) : __mmask32((1u << rw.load) - 1);
  const __mmask16 m0 = __mmask16(per_row >= 16 ? 0xffff : (1u << per_row) - 1);
  const __mmask16 m1 = __mmask16(per_row > 16 ? (1u << (per_row - 16)) - 1 : 0);
  const __m512i i0 = _mm512_load_si512(rw.idx[0]), i1 = _mm512_load_si512(rw.idx[1]);
  for (int r = 0; r < rw.r_n; ++r) {
    const __m512i l = _mm512_maskz_loadu_epi16(lm, lo + size_t(r) * rw.row_step);
    const __m512i h = hi ? _mm512_maskz_loadu_epi16(lm, hi + size_t(r) * rw.row_step) : _mm512_setzero_si512();
    int32_t* d = tmp + r * per_row;
    _mm512_mask_storeu_epi32(d, m0, _mm512_permutex2var_epi16(l, i0, h));
    if (m1) _mm512_mask_storeu_epi32(d + 16, m1, _mm512_permutex2var_epi16(l, i1, h));
  }
  copy_row_tiles(tmp, rp, out, ps);
}

void small_c_words(const int16_t* lo, const int16_t* hi, const int* toff, int taps, int c_n, int rp, int32_t* tmp,
                   int32_t* out, int ps) {
  if (has_avx512bw()) return small_c_words_avx512(lo, hi, toff, taps, c_n, rp, tmp, out, ps);
  for (int t = 0; t < taps; ++t)
    for (int c = 0; c < c_n; ++c)
      tmp[t * c_n + c] = int32_t(uint32_t(uint16_t(lo[toff[t] + c])) | (hi ? uint32_t(uint16_t(hi[toff[t] + c])) << 16 : 0u));
  for (int row = 0; row < rp; ++row) out[size_t(row / 8) * ps + row % 8] = tmp[row];
}

// dbias (K, overwritten) = the threads' exact int64 sums of dy's DFP values, scaled back.
void write_bias_gradient(const std::vector<int64_t>& bsum, int threads, int k_n, int exponent, float* dbias) {
  const float scale = std::ldexp(1.0f, exponent);
  for (int k = 0; k < k_n; ++k) {
    int64_t sum = 0;
    for (int t = 0; t < threads; ++t) sum += bsum[size_t(t) * k_n + k];
    dbias[k] = scale * float(sum);
  }
}

// Backward-weights for few input channels (the stem: C = 3): with C on the vector lanes most
// of each 16-wide panel would be padding, so the roles swap. Rows are the (tap, c) products
// (R * S * C of them, im2col'ed per chunk into pair words, 8 rows a tile) and the vector lanes
// are K, read straight from the gradient's NHWC rows. Same kernels, same chains.
void backward_weights_small_c(const ConvShape& s, const DfpActivation& x, const DfpActivation& dy, float* dw, float* dbias,
                              IntIsa isa) {
  const int taps = s.r * s.s, oh = s.oh(), ow = s.ow(), plane = oh * ow, total = s.n * plane;
  const int rows = taps * s.c, rp = round_up(rows, kPairMR), kp16 = round_up(s.k, 16);
  const std::vector<Panel> ps = panels(s.k);
  const int flush = dfp_chain_pairs(x.qmax, dy.qmax);
  const int chunks = (total + kChunk - 1) / kChunk;
  const int threads = std::max(1, std::min(omp_get_max_threads(), chunks));
  const size_t per = size_t(rp) * kp16;
  static thread_local std::vector<float> acc_store;
  acc_store.assign(per * threads, 0.0f);
  float* const acc = acc_store.data();
  std::vector<int64_t> bsum(size_t(threads) * s.k, 0);
  // Tap t's offset from a pixel's first channel.
  std::vector<int> toff(taps);
  for (int r = 0; r < s.r; ++r)
    for (int q = 0; q < s.s; ++q) toff[r * s.s + q] = (r * x.wp + q) * x.cp;
  const bool by_rows = row_words_fit(s, x);
  const RowWords rw = by_rows ? row_words(s, x) : RowWords{};
  const float scale = std::ldexp(1.0f, x.exponent + dy.exponent);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    float* const a = acc + per * t;
    int64_t* const bs = bsum.data() + size_t(t) * s.k;
    const int panel_words = kChunk / 2 * kPairMR;
    static thread_local AlignedVector<int32_t> packed;
    static thread_local std::vector<const int16_t*> px;
    static thread_local std::vector<int16_t> zeros;
    static thread_local std::vector<const int16_t*> pxp;
    static thread_local std::vector<int32_t> bsum32;
    static thread_local std::vector<int32_t> tmp;
    packed.resize(size_t(rp / kPairMR) * panel_words);
    tmp.assign(rp, 0);  // rows past R * S * C stay zero
    px.resize(kChunk + 1);
    pxp.resize(kChunk + 1);
    bsum32.resize(s.k);
    zeros.assign(size_t(std::max(x.cp, dy.cp)) + 64, 0);
#pragma omp for schedule(dynamic, 16)
    for (int chunk = 0; chunk < chunks; ++chunk) {
      const int p0 = chunk * kChunk, np = std::min(kChunk, total - p0), pairs = (np + 1) / 2;
      const int16_t* base[kChunk + 1];
      std::fill(bsum32.begin(), bsum32.end(), 0);
      for (int i = 0, ni = p0 / plane, rem = p0 % plane; i < np; ++i) {
        const int yy = rem / ow, xx = rem % ow;
        base[i] = x.data.data() + ((size_t(ni) * x.hp + yy * s.stride) * x.wp + xx * s.stride) * x.cp;
        px[i] = dy.data.data() + ((size_t(ni) * dy.hp + yy + dy.top) * dy.wp + xx + dy.left) * dy.cp;
        add_row(px[i], s.k, bsum32.data());  // int32: a chunk's 128 pixels cannot overflow it
        if (++rem == plane) rem = 0, ++ni;
      }
      for (int k = 0; k < s.k; ++k) bs[k] += bsum32[k];
      if (np % 2) px[np] = zeros.data();
      // The next chunk's gradient (most often this thread's next one: chunks come in runs),
      // fetched into L2 behind this chunk's products; the rows are contiguous up to padding.
      if (p0 + np < total) {
        const auto dy_ptr = [&](int p) {
          const int ni = p / plane, rem = p % plane;
          return reinterpret_cast<const char*>(dy.data.data() + ((size_t(ni) * dy.hp + rem / ow + dy.top) * dy.wp + rem % ow + dy.left) * dy.cp);
        };
        const char* b = dy_ptr(p0 + np);
        const char* e = dy_ptr(std::min(total, p0 + 2 * np) - 1) + size_t(dy.cp) * 2;
        for (; b < e; b += 64) _mm_prefetch(b, _MM_HINT_T1);
      }
      for (int g = 0; g < pairs; ++g) {
        const int16_t* hi = 2 * g + 1 < np ? base[2 * g + 1] : nullptr;
        int32_t* words = packed.data() + size_t(g) * kPairMR;
        if (by_rows)
          small_c_row_words(base[2 * g], hi, rw, rp, tmp.data(), words, panel_words);
        else
          small_c_words(base[2 * g], hi, toff.data(), taps, s.c, rp, tmp.data(), words, panel_words);
      }
      for (const Panel& pn : ps) {
        for (int i = 0; i < 2 * pairs; ++i) pxp[i] = px[i] + pn.j0;
        const PairFn fn = pair_kernel(isa, pn.width);
        for (int r0 = 0; r0 < rp; r0 += kPairMR)
          fn({packed.data() + size_t(r0 / kPairMR) * panel_words, pxp.data(), pairs, flush, dy.cp - pn.j0,
              a + size_t(r0) * kp16 + pn.j0, kp16});
      }
    }
#pragma omp for schedule(static) nowait
    for (int k = 0; k < s.k; ++k)
      for (int row = 0; row < rows; ++row) {
        float sum = 0;
        for (int u = 0; u < threads; ++u) sum += acc[per * u + size_t(row) * kp16 + k];
        dw[size_t(k) * rows + row] = scale * sum;  // KRSC: row = tap * C + c
      }
  }
  if (dbias) write_bias_gradient(bsum, threads, s.k, dy.exponent, dbias);
}

// Backward-weights for few pixels (deep layers: 2x2 or 4x4 outputs at batch 32 are 128-512
// pixels, fewer chunks than threads can share, while the weights are largest): parallel over
// (tap, block of output channels) instead, each task summing every pixel into its own slice of
// dw, so there are no per-thread copies of dw (9 MB at 512 x 512 x 3x3) to zero and add up.
// Pixels are ordered by the taps they reach (row run x column run, each padded to an even
// count with a zero pixel), so a tap skips the pairs whose input there is padding.
void backward_weights_by_output(const ConvShape& s, const DfpActivation& x, const DfpActivation& dy, float* dw, float* dbias,
                                IntIsa isa) {
  const int taps = s.r * s.s, oh = s.oh(), ow = s.ow();
  const int kp = round_up(s.k, kPairMR), cp16 = round_up(s.c, 16), kblocks = kp / kPairMR;
  const std::vector<Panel> ps = panels(s.c);
  const int flush = dfp_chain_pairs(x.qmax, dy.qmax);
  struct Run {
    int pair0, pairs, r_lo, r_hi, q_lo, q_hi;
  };
  std::vector<int> order;  // output pixel (n * oh + oy) * ow + ox; -1: a zero pixel
  std::vector<Run> runs;
  order_by_runs(
      forward_row_runs(s), forward_col_runs(s), s.n, order, [&](int ni, int y, int x) { return (ni * oh + y) * ow + x; },
      [&](const TapRun& rr, const TapRun& cr, int first) {
    if ((order.size() - first) % 2) order.push_back(-1);
    runs.push_back({first / 2, (int(order.size()) - first) / 2, rr.lo, rr.hi, cr.lo, cr.hi});
  });
  const int pairs = int(order.size()) / 2;
  const std::vector<int16_t> zeros(size_t(std::max(x.cp, dy.cp)) + 64, 0);
  std::vector<const int16_t*> xbase(order.size()), dyrow(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const int p = order[i];
    if (p < 0) {
      xbase[i] = dyrow[i] = zeros.data();
      continue;
    }
    const int ni = p / (oh * ow), yy = p / ow % oh, xx = p % ow;
    xbase[i] = x.data.data() + ((size_t(ni) * x.hp + yy * s.stride) * x.wp + xx * s.stride) * x.cp;
    dyrow[i] = dy.data.data() + ((size_t(ni) * dy.hp + yy + dy.top) * dy.wp + xx + dy.left) * dy.cp;
  }
  // The gradient interleaved into pixel pairs: words [k / 8][pair][k % 8]; bias sums per thread.
  AlignedVector<int32_t> packed(size_t(kp) * pairs);
  const int threads = omp_get_max_threads();
  std::vector<int64_t> bsum(size_t(threads) * s.k, 0);
  constexpr int kPackPairs = 64;  // int32 bias sums over 128 pixels cannot overflow
#pragma omp parallel
  {
    std::vector<int32_t> b32(kp);
    int64_t* const bs = bsum.data() + size_t(omp_get_thread_num()) * s.k;
#pragma omp for schedule(static)
    for (int g0 = 0; g0 < pairs; g0 += kPackPairs) {
      std::fill(b32.begin(), b32.end(), 0);
      for (int g = g0; g < std::min(pairs, g0 + kPackPairs); ++g)
        interleave(dyrow[2 * g], dyrow[2 * g + 1], s.k, kp, pairs * kPairMR, packed.data() + size_t(g) * kPairMR, b32.data());
      for (int k = 0; k < s.k; ++k) bs[k] += b32[k];
    }
  }
  // Tasks: (tap, kb output-channel blocks of 8); enough of them to balance the threads.
  int kb = 8;
  while (kb > 1 && taps * ((kblocks + kb - 1) / kb) < 8 * threads) kb /= 2;
  const int per_tap = (kblocks + kb - 1) / kb;
  const float scale = std::ldexp(1.0f, x.exponent + dy.exponent);
#pragma omp parallel
  {
    std::vector<float> acc(size_t(kb) * kPairMR * cp16);
    std::vector<const int16_t*> px(2 * size_t(pairs));
#pragma omp for schedule(dynamic, 1)
    for (int task = 0; task < taps * per_tap; ++task) {
      const int tap = task / per_tap, b0 = task % per_tap * kb, b1 = std::min(kblocks, b0 + kb);
      const int r = tap / s.s, q = tap % s.s;
      const size_t toff = (size_t(r) * x.wp + q) * x.cp;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (const Run& run : runs) {
        if (r < run.r_lo || r >= run.r_hi || q < run.q_lo || q >= run.q_hi) continue;  // this tap reads their padding
        for (const Panel& pn : ps) {
          for (int i = 2 * run.pair0; i < 2 * (run.pair0 + run.pairs); ++i)
            px[i] = order[i] < 0 ? zeros.data() : xbase[i] + toff + pn.j0;
          const PairFn fn = pair_kernel(isa, pn.width);
          for (int b = b0; b < b1; ++b)
            fn({packed.data() + (size_t(b) * pairs + run.pair0) * kPairMR, px.data() + 2 * run.pair0, run.pairs, flush,
                x.cp - pn.j0, acc.data() + size_t(b - b0) * kPairMR * cp16 + pn.j0, cp16});
        }
      }
      for (int k = b0 * kPairMR; k < std::min(s.k, b1 * kPairMR); ++k) {
        const float* a = acc.data() + size_t(k - b0 * kPairMR) * cp16;
        float* o = dw + (size_t(k) * taps + tap) * s.c;
        for (int c = 0; c < s.c; ++c) o[c] = scale * a[c];
      }
    }
  }
  if (dbias) write_bias_gradient(bsum, threads, s.k, dy.exponent, dbias);
}

}  // namespace

std::string ConvShape::str() const {
  return fmt::format("conv n{} c{} k{} {}x{} {}x{} s{} p{}{}{}", n, c, k, h, w, r, s, stride, pad,
                     in == ActLayout::nChw16c ? " x:nChw16c" : "", out == ActLayout::nChw16c ? " y:nChw16c" : "");
}

std::string dfp_conv_kernels(const ConvShape& s, IntIsa isa, bool backward) {
  const std::string tiles = "amx_int8 (tdpb*d on split int16 bytes)", vec = to_string(vector_isa(isa));
  if (isa != IntIsa::amx_int8) return to_string(isa);
  if (!backward) return amx::takes_forward(s) ? tiles : vec;
  const bool data = amx::takes_backward_data(s), weights = amx::takes_backward_weights(s);
  if (data == weights) return data ? tiles : vec;
  return "backward-data " + (data ? tiles : vec) + ", backward-weights " + (weights ? tiles : vec);
}

int dfp_chain_pairs(int qa, int qb, int cap) {
  const int64_t bound = 2 * int64_t(qa) * qb;
  return int(std::clamp<int64_t>(bound ? INT32_MAX / bound : cap, 1, cap));
}

void dfp_pack_input(const ConvShape& s, const float* x, DfpActivation& out, int qmax) {
  check_shape(s);
  set_layout(out, s.n, s.h, s.w, s.c, {s.pad, s.pad, s.pad, s.pad});
  pack_f32(out, x, s.in, qmax);
}

void dfp_pack_input(const ConvShape& s, const int16_t* x, int exponent, DfpActivation& out) {
  check_shape(s);
  set_layout(out, s.n, s.h, s.w, s.c, {s.pad, s.pad, s.pad, s.pad});
  pack_s16(out, x, s.in, exponent);
}

void dfp_pack_grad_output(const ConvShape& s, const float* dy, DfpActivation& out, int qmax) {
  check_shape(s);
  set_layout(out, s.n, s.oh(), s.ow(), s.k, grad_pads(s));
  pack_f32(out, dy, s.out, qmax);
}

void dfp_pack_grad_output(const ConvShape& s, const int16_t* dy, int exponent, DfpActivation& out) {
  check_shape(s);
  set_layout(out, s.n, s.oh(), s.ow(), s.k, grad_pads(s));
  pack_s16(out, dy, s.out, exponent);
}

void dfp_pack_weights(const ConvShape& s, const float* w, DfpConvWeights& out, int qmax, IntIsa isa) {
  weights_shape(s, out);
  const size_t n = out.q.size();
  constexpr size_t kBlock = 1 << 16;
  const int blocks = int((n + kBlock - 1) / kBlock);
  dfp_quantize_speculating(out.exponent, out.qmax, qmax, [&](int e) {
    float m = 0;
#pragma omp parallel for reduction(max : m) schedule(static) if (blocks > 1)
    for (int b = 0; b < blocks; ++b) {
      const size_t i0 = size_t(b) * kBlock;
      m = std::max(m, dfp_quantize_max(w + i0, std::min(kBlock, n - i0), e, out.q.data() + i0));
    }
    return m;
  });
  pack_for(s, out, isa);
}

void dfp_pack_weights(const ConvShape& s, const int16_t* w, int exponent, DfpConvWeights& out, IntIsa isa) {
  weights_shape(s, out);
  out.exponent = exponent;
  out.qmax = int(copy_run(w, int(out.q.size()), out.q.data()));
  pack_for(s, out, isa);
}

void dfp_conv_forward(const ConvShape& s, const DfpActivation& x, const DfpConvWeights& w, const float* bias, float* y,
                      IntIsa isa) {
  check_shape(s);
  check_act(x, s.n, s.h, s.w, s.c, s.pad, s.pad, "x");
  check_weights(s, w, isa);
  if (isa == IntIsa::amx_int8 && amx::takes_forward(s)) return amx::forward(s, x, w, bias, y);
  const int cw = x.cp / 2, oh = s.oh(), ow = s.ow(), plane = oh * ow;
  const bool blocked = s.out == ActLayout::nChw16c;
  // Output pixels ordered by the taps they reach (one segment per row run x column run), with
  // their offsets worked out once.
  const GatherPlan& plan = cached_plan(0, s, [&](std::vector<PixelAt>& order, std::vector<GatherSegment>& segs) {
    order.reserve(size_t(s.n) * plane);
    const auto at = [&](int ni, int yy, int xx) {
      const size_t a = ((size_t(ni) * x.hp + yy * s.stride) * x.wp + xx * s.stride) * cw;
      const size_t rem = size_t(yy) * ow + xx;
      return PixelAt{a, blocked ? (size_t(ni) * (s.k / 16) * plane + rem) * 16 : (size_t(ni) * plane + rem) * s.k};
    };
    order_by_runs(forward_row_runs(s), forward_col_runs(s), s.n, order, at, [&](const TapRun& rr, const TapRun& cr, int first) {
      GatherSegment sg{first, int(order.size()) - first, {}, {}};
      for (int r = rr.lo; r < rr.hi; ++r)
        for (int q = cr.lo; q < cr.hi; ++q) {
          sg.a_off.push_back((r * x.wp + q) * cw);
          sg.tap_idx.push_back(r * s.s + q);
        }
      segs.push_back(std::move(sg));
    });
  });
  const word_t* xw = reinterpret_cast<const word_t*>(x.data.data());
  gather_all(isa, plan.segs, s.k, w.fwd.data(), cw, s.r * s.s, dfp_chain_pairs(x.qmax, w.qmax),
             std::ldexp(1.0f, x.exponent + w.exponent), bias, blocked ? plane * 16 : 16, [&](int i, const word_t*& a, float*& out) {
               a = xw + plan.order[i].a;
               out = y + plan.order[i].out;
             });
}

void dfp_conv_backward_data(const ConvShape& s, const DfpActivation& dy, const DfpConvWeights& w, float* dx, IntIsa isa) {
  check_shape(s);
  check_act(dy, s.n, s.oh(), s.ow(), s.k, grad_pads(s).top, grad_pads(s).left, "dy");
  check_weights(s, w, isa);
  if (isa == IntIsa::amx_int8 && amx::takes_backward_data(s)) return amx::backward_data(s, dy, w, dx);
  const int st = s.stride, kw = dy.cp / 2, oh = s.oh(), ow = s.ow(), plane = s.h * s.w;
  const bool blocked = s.in == ActLayout::nChw16c;
  // Per stride phase (input rows with (i + pad) % st == ph read kernel rows ph + st * j: no
  // zero-dilated gradient), input pixels ordered by the gradient rows they reach: row i reads
  // gradient row (i + pad) / st - j, which exists for j in an interval. A pixel that reaches
  // no tap (stride > kernel) is a segment without taps: its row is written as zeros.
  const GatherPlan& plan = cached_plan(1, s, [&](std::vector<PixelAt>& order, std::vector<GatherSegment>& segs) {
    order.reserve(size_t(s.n) * plane);
    const auto at = [&](int ni, int ih, int iw) {
      const int th = (ih + s.pad) / st, tw = (iw + s.pad) / st;
      const size_t a = ((size_t(ni) * dy.hp + th + dy.top) * dy.wp + tw + dy.left) * kw;
      const size_t rem = size_t(ih) * s.w + iw;
      return PixelAt{a, blocked ? (size_t(ni) * (s.c / 16) * plane + rem) * 16 : (size_t(ni) * plane + rem) * s.c};
    };
    for (int ph = 0; ph < st; ++ph)
      for (int pw = 0; pw < st; ++pw) {
        std::vector<int> rows, cols;
        for (int i = 0; i < s.h; ++i)
          if ((i + s.pad) % st == ph) rows.push_back(i);
        for (int i = 0; i < s.w; ++i)
          if ((i + s.pad) % st == pw) cols.push_back(i);
        const int jr = ph < s.r ? (s.r - 1 - ph) / st + 1 : 0, jc = pw < s.s ? (s.s - 1 - pw) / st + 1 : 0;
        const auto row_runs = tap_runs(rows, jr, [&](int ih, int j) { return unsigned((ih + s.pad) / st - j) < unsigned(oh); });
        const auto col_runs = tap_runs(cols, jc, [&](int iw, int j) { return unsigned((iw + s.pad) / st - j) < unsigned(ow); });
        order_by_runs(row_runs, col_runs, s.n, order, at, [&](const TapRun& rr, const TapRun& cr, int first) {
          GatherSegment sg{first, int(order.size()) - first, {}, {}};
          for (int jh = rr.lo; jh < rr.hi; ++jh)
            for (int jw = cr.lo; jw < cr.hi; ++jw) {
              sg.a_off.push_back(-(jh * dy.wp + jw) * kw);
              sg.tap_idx.push_back((ph + st * jh) * s.s + pw + st * jw);
            }
          segs.push_back(std::move(sg));
        });
      }
  });
  const word_t* dw = reinterpret_cast<const word_t*>(dy.data.data());
  gather_all(isa, plan.segs, s.c, w.bwd.data(), kw, s.r * s.s, dfp_chain_pairs(dy.qmax, w.qmax),
             std::ldexp(1.0f, dy.exponent + w.exponent), nullptr, blocked ? plane * 16 : 16, [&](int i, const word_t*& a, float*& out) {
               a = dw + plan.order[i].a;
               out = dx + plan.order[i].out;
             });
}

void dfp_conv_backward_weights(const ConvShape& s, const DfpActivation& x, const DfpActivation& dy, float* dw, float* dbias,
                               IntIsa isa) {
  check_shape(s);
  check_act(x, s.n, s.h, s.w, s.c, s.pad, s.pad, "x");
  check_act(dy, s.n, s.oh(), s.ow(), s.k, grad_pads(s).top, grad_pads(s).left, "dy");
  if (isa == IntIsa::amx_int8 && amx::takes_backward_weights(s)) return amx::backward_weights(s, x, dy, dw, dbias);
  if (s.c <= 8) return backward_weights_small_c(s, x, dy, dw, dbias, isa);
  const int taps = s.r * s.s, oh = s.oh(), ow = s.ow(), plane = oh * ow;
  const int kp = round_up(s.k, kPairMR), cp16 = round_up(s.c, 16);
  const std::vector<Panel> ps = panels(s.c);
  const int flush = dfp_chain_pairs(x.qmax, dy.qmax);
  // Per thread: f32 sums [tap][k][c] (c padded to 16) and int64 bias sums. The sums live with
  // the calling thread between calls (no allocation, no page faults per call); a smaller team
  // than asked for leaves its unused shares at zero.
  const size_t per = size_t(taps) * kp * cp16;
  // Chunks of the batch's pixels (they run across image boundaries: every pixel has its own
  // row pointers). Each chunk adds into all of the thread's sums, so where those outgrow L2
  // (deep layers: 512 x 512 x 9 is 9 MB) chunks are 2x / 4x longer (sums over 512 KB / 4 MB),
  // for that much less of that traffic (measured: 512 x 512 at 8x8, 64-pixel chunks before:
  // 2x faster; longer chunks than needed overflow L1 with the input's rows).
  const int total = s.n * plane;
  const size_t acc_bytes = per * sizeof(float);
  const int chunk_px = acc_bytes > (4u << 20) ? 4 * kChunk : acc_bytes > (512u << 10) ? 2 * kChunk : kChunk;
  const int chunks = (total + chunk_px - 1) / chunk_px;
  // Too few chunks to share out: split the weights instead.
  if (chunks < 4 * omp_get_max_threads()) return backward_weights_by_output(s, x, dy, dw, dbias, isa);
  const int threads = std::max(1, std::min(omp_get_max_threads(), chunks));
  static thread_local std::vector<float> acc_store;
  acc_store.assign(per * threads, 0.0f);
  float* const acc = acc_store.data();
  std::vector<int64_t> bsum(size_t(threads) * s.k, 0);
  const float scale = std::ldexp(1.0f, x.exponent + dy.exponent);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    float* const a = acc + per * t;
    int64_t* const bs = bsum.data() + size_t(t) * s.k;
    // The chunk's gradient: panels of 8 output channels, [pair][8] words each (L1-contiguous
    // per kernel call). Buffers of the worker thread, kept across calls.
    const int panel_words = chunk_px / 2 * kPairMR;
    static thread_local AlignedVector<int32_t> packed;
    static thread_local std::vector<int32_t> bsum32;
    static thread_local std::vector<const int16_t*> base, px;
    static thread_local std::vector<int16_t> zeros;
    packed.resize(size_t(kp / kPairMR) * panel_words);
    bsum32.resize(kp);
    base.resize(chunk_px);
    px.resize(chunk_px + 1);
    zeros.assign(size_t(std::max(x.cp, dy.cp)) + 64, 0);
#pragma omp for schedule(dynamic, 1)
    for (int chunk = 0; chunk < chunks; ++chunk) {
      const int p0 = chunk * chunk_px;
      const int np = std::min(chunk_px, total - p0), pairs = (np + 1) / 2;
      auto dy_at = [&](int p) {
        const int ni = p / plane, rem = p % plane;
        return dy.data.data() + ((size_t(ni) * dy.hp + rem / ow + dy.top) * dy.wp + rem % ow + dy.left) * dy.cp;
      };
      std::fill(bsum32.begin(), bsum32.end(), 0);
      for (int g = 0; g < pairs; ++g)
        interleave(dy_at(p0 + 2 * g), 2 * g + 1 < np ? dy_at(p0 + 2 * g + 1) : zeros.data(), s.k, kp, panel_words,
                   packed.data() + size_t(g) * kPairMR, bsum32.data());
      for (int k = 0; k < s.k; ++k) bs[k] += bsum32[k];
      for (int i = 0; i < np; ++i) {
        const int ni = (p0 + i) / plane, rem = (p0 + i) % plane, yy = rem / ow, xx = rem % ow;
        base[i] = x.data.data() + ((size_t(ni) * x.hp + yy * s.stride) * x.wp + xx * s.stride) * x.cp;
      }
      for (int r = 0; r < s.r; ++r)
        for (int q = 0; q < s.s; ++q) {
          const int tap = r * s.s + q;
          const size_t toff = (size_t(r) * x.wp + q) * x.cp;
          for (const Panel& pn : ps) {
            for (int i = 0; i < np; ++i) px[i] = base[i] + toff + pn.j0;
            if (np % 2) px[np] = zeros.data();
            const PairFn fn = pair_kernel(isa, pn.width);
            for (int k0 = 0; k0 < kp; k0 += kPairMR)
              fn({packed.data() + size_t(k0 / kPairMR) * panel_words, px.data(), pairs, flush, x.cp - pn.j0,
                  a + (size_t(tap) * kp + k0) * cp16 + pn.j0, cp16});
          }
        }
    }
    // (the loop's barrier) then the threads' sums, scaled, in the same team.
#pragma omp for schedule(static) nowait
    for (int k = 0; k < s.k; ++k)
      for (int tap = 0; tap < taps; ++tap)
        for (int c = 0; c < s.c; ++c) {
          float sum = 0;
          for (int u = 0; u < threads; ++u) sum += acc[per * u + (size_t(tap) * kp + k) * cp16 + c];
          dw[(size_t(k) * taps + tap) * s.c + c] = scale * sum;
        }
  }
  if (dbias) write_bias_gradient(bsum, threads, s.k, dy.exponent, dbias);
}

void dfp_conv_forward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y, IntIsa isa) {
  DfpActivation qx;
  DfpConvWeights qw;
  dfp_pack_input(s, x, qx);
  dfp_pack_weights(s, w, qw, kDfpGemmMax, isa);
  dfp_conv_forward(s, qx, qw, bias, y, isa);
}

void dfp_conv_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx, IntIsa isa) {
  DfpActivation qdy;
  DfpConvWeights qw;
  dfp_pack_grad_output(s, dy, qdy);
  dfp_pack_weights(s, w, qw, kDfpGemmMax, isa);
  dfp_conv_backward_data(s, qdy, qw, dx, isa);
}

void dfp_conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw, float* dbias, IntIsa isa) {
  DfpActivation qx, qdy;
  dfp_pack_input(s, x, qx);
  dfp_pack_grad_output(s, dy, qdy);
  dfp_conv_backward_weights(s, qx, qdy, dw, dbias, isa);
}

#pragma GCC diagnostic pop

}  // namespace paradnn::cpu::lowp
