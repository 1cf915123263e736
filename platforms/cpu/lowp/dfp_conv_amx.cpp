#include "platforms/cpu/lowp/dfp_conv_amx.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "platforms/cpu/lowp/transpose16.hpp"
#include "platforms/cpu/probes/amx_tile_config.hpp"

namespace paradnn::cpu::lowp::amx {

// GCC 12's AVX-512 headers pass _mm512_undefined_*() to the builtins and warn about it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {

// Every function with tile or AVX-512 intrinsics; OpenMP bodies only call them (an outlined
// parallel region does not inherit a target attribute).
#define PARADNN_AMX __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi,bmi2,amx-tile,amx-int8")))

constexpr int kTile = 1024;        // bytes in a tile: 16 rows x 64
constexpr int kMaxReduction = 32768;  // elements per accumulation: 2 * 255 * 255 * 32768 < 2^31

// tmm0 A high, tmm1 A low, tmm2 B high, tmm3 B low, tmm4-6 the HH, cross and LL
// accumulators; all 16 rows x 64 bytes.
PARADNN_AMX void tiles_begin() { load_tile_config(full_tiles(7)); }

PARADNN_AMX void tiles_end() { _tile_release(); }  // tiles back to their init state

PARADNN_AMX inline void zero_accumulators() {
  _tile_zero(4);
  _tile_zero(5);
  _tile_zero(6);
}

// Accumulators += the sum over `chunks` of A(q) B(q): A's tiles at a_hi / a_lo + q * a_step
// bytes, B's at b_hi / b_lo + q * kTile; rows 64 bytes apart.
PARADNN_AMX void accumulate(const int8_t* a_hi, const int8_t* a_lo, size_t a_step, const int8_t* b_hi, const int8_t* b_lo,
                            int chunks) {
  __asm__ volatile("" ::: "memory");  // the tile loads' asm takes only pointers: staged bytes first
  for (int q = 0; q < chunks; ++q) {
    _tile_loadd(0, a_hi + q * a_step, 64);
    _tile_loadd(1, a_lo + q * a_step, 64);
    _tile_loadd(2, b_hi + size_t(q) * kTile, 64);
    _tile_loadd(3, b_lo + size_t(q) * kTile, 64);
    _tile_dpbssd(4, 0, 2);
    _tile_dpbsud(5, 0, 3);
    _tile_dpbusd(5, 1, 2);
    _tile_dpbuud(6, 1, 3);
  }
  __asm__ volatile("" ::: "memory");
}

struct alignas(64) Accumulators {
  int32_t hh[256], x[256], ll[256];
};

PARADNN_AMX void store_accumulators(Accumulators& a) {
  _tile_stored(4, a.hh, 64);
  _tile_stored(5, a.x, 64);
  _tile_stored(6, a.ll, 64);
  __asm__ volatile("" ::: "memory");
}

PARADNN_AMX inline __m256 exact_half(__m256i hh, __m256i x, __m256i ll) {
  __m512i v = _mm512_slli_epi64(_mm512_cvtepi32_epi64(hh), 16);
  v = _mm512_add_epi64(v, _mm512_slli_epi64(_mm512_cvtepi32_epi64(x), 8));
  return _mm512_cvtepi64_ps(_mm512_add_epi64(v, _mm512_cvtepi32_epi64(ll)));
}

// Row i's 16 sums 65536 HH + 256 X + LL, exact in int64 and rounded once to f32, times scale.
PARADNN_AMX inline __m512 row_value(const Accumulators& a, int i, float scale) {
  const __m512i hh = _mm512_load_si512(a.hh + 16 * i), x = _mm512_load_si512(a.x + 16 * i), ll = _mm512_load_si512(a.ll + 16 * i);
  const __m256 lo = exact_half(_mm512_castsi512_si256(hh), _mm512_castsi512_si256(x), _mm512_castsi512_si256(ll));
  const __m256 hi = exact_half(_mm512_extracti64x4_epi64(hh, 1), _mm512_extracti64x4_epi64(x, 1), _mm512_extracti64x4_epi64(ll, 1));
  return _mm512_mul_ps(_mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1), _mm512_set1_ps(scale));
}

// 32 int16 -> their 32 low bytes, then their 32 high bytes (vpermb).
PARADNN_AMX inline __m512i split_index() {
  alignas(64) static const struct Index {
    int8_t idx[64];
    Index() {
      for (int o = 0; o < 64; ++o) idx[o] = int8_t(o < 32 ? 2 * o : 2 * (o - 32) + 1);
    }
  } index;
  return _mm512_load_si512(index.idx);
}

PARADNN_AMX inline __m256i row16(const int16_t* p, __mmask16 m) { return p ? _mm256_maskz_loadu_epi16(m, p) : _mm256_setzero_si256(); }

// Four rows of 16 int16 (null: zeros; only the first n read, the rest zeros) -> 64 low and 64
// high bytes, byte 4 j + e = row e's value j: one row of a B tile.
PARADNN_AMX inline void quad_row(const int16_t* const r[4], int8_t* hi, int8_t* lo, int n = 16) {
  alignas(64) static const struct Index {
    int8_t lo[64], hi[64];
    Index() {
      for (int o = 0; o < 64; ++o) lo[o] = int8_t((o % 4) * 32 + 2 * (o / 4)), hi[o] = int8_t(lo[o] + 1);
    }
  } index;
  const __mmask16 m = n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
  const __m512i z0 = _mm512_inserti64x4(_mm512_castsi256_si512(row16(r[0], m)), row16(r[1], m), 1);
  const __m512i z1 = _mm512_inserti64x4(_mm512_castsi256_si512(row16(r[2], m)), row16(r[3], m), 1);
  _mm512_storeu_si512(lo, _mm512_permutex2var_epi8(z0, _mm512_load_si512(index.lo), z1));
  _mm512_storeu_si512(hi, _mm512_permutex2var_epi8(z0, _mm512_load_si512(index.hi), z1));
}

// Staging buffers kept per thread across calls (fresh pages every call cost more than the
// tile products of a small layer): slot `i` of the calling thread, at least `bytes` long.
enum Slot { kStageHi, kStageLo, kGradHi, kGradLo, kSums, kSlots };
int8_t* scratch(Slot i, size_t bytes) {
  thread_local AlignedVector<int8_t> slots[kSlots];
  if (slots[i].size() < bytes) slots[i].resize(bytes);
  return slots[i].data();
}

// ---------------------------------------------------------------------------------------------
// Gather products (forward, backward-data): 16 pixels x 16 output columns per tile; pixel i's
// reduction is `channels` int16 at src + base[i] + off[t] for each tap t, element t * channels + c,
// of which the first `valid` are read and the rest are zeros.

struct GatherProblem {
  const int16_t* src = nullptr;
  std::vector<ptrdiff_t> off;  // per tap, int16 elements from a pixel's base
  int channels = 0;            // per tap, a multiple of 32
  int valid = 0;               // int16 read per tap (<= channels)
  int cp = 0;                  // int16 per pixel of src
  const SplitPanels* b = nullptr;
  int columns = 0;             // multiple of 16
  float scale = 1;
  const float* bias = nullptr;
  // Output pixel p (n, oy, ox) of `pixels` reads src + origin + n img_stride + oy row_stride +
  // ox stride cp; its output: 16 floats per column block (NHWC or nChw16c).
  int pixels = 0;
  int plane = 0;               // pixels per image of the output
  int out_w = 0, stride = 1;   // output columns, and the input step per output step
  ptrdiff_t img_stride = 0, row_stride = 0, origin = 0;  // src offsets: per image, per output row
  bool blocked = false;        // output nChw16c (else NHWC)
};

// Stages a tile's 16 rows (pixels p0 ...) as split bytes: hi/lo + chunk * kTile + row * 64.
PARADNN_AMX void stage_tile(const GatherProblem& g, int p0, int8_t* hi, int8_t* lo) {
  const __m512i idx = split_index();
  const int chunks = g.b->chunks, len = int(g.off.size()) * g.channels;
  for (int i = 0; i < 16; ++i) {
    const int p = p0 + i;
    if (p >= g.pixels) {
      for (int q = 0; q < chunks; ++q) {
        std::memset(hi + size_t(q) * kTile + i * 64, 0, 64);
        std::memset(lo + size_t(q) * kTile + i * 64, 0, 64);
      }
      continue;
    }
    const int n = p / g.plane, rem = p % g.plane, oy = rem / g.out_w, ox = rem % g.out_w;
    const int16_t* base = g.src + g.origin + n * g.img_stride + oy * g.row_stride + ptrdiff_t(ox) * g.stride * g.cp;
    int e = 0;
    for (const ptrdiff_t o : g.off)
      for (int c = 0; c < g.channels; c += 32, e += 32) {
        const int n_read = std::clamp(g.valid - c, 0, 32);
        const __mmask32 m = n_read == 32 ? ~__mmask32(0) : (__mmask32(1) << n_read) - 1;
        const __m512i v = _mm512_permutexvar_epi8(idx, _mm512_maskz_loadu_epi16(m, base + o + c));
        const size_t at = size_t(e >> 6) * kTile + i * 64 + (e & 63);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + at), _mm512_castsi512_si256(v));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + at), _mm512_extracti64x4_epi64(v, 1));
      }
    if (len & 63) {  // the last chunk's second half
      const size_t at = size_t(len >> 6) * kTile + i * 64 + 32;
      std::memset(hi + at, 0, 32);
      std::memset(lo + at, 0, 32);
    }
  }
}

PARADNN_AMX void gather_tile(const GatherProblem& g, int p0, int8_t* hi, int8_t* lo, float* out, Accumulators& acc) {
  stage_tile(g, p0, hi, lo);
  const int chunks = g.b->chunks, rows = std::min(16, g.pixels - p0);
  const size_t block_stride = g.blocked ? size_t(g.plane) * 16 : 16;
  size_t out_at[16];
  for (int i = 0; i < rows; ++i) {
    const int p = p0 + i, n = p / g.plane, rem = p % g.plane;
    out_at[i] = g.blocked ? (size_t(n) * (g.columns / 16) * g.plane + rem) * 16 : size_t(p) * g.columns;
  }
  for (int j = 0; j < g.columns / 16; ++j) {
    zero_accumulators();
    accumulate(hi, lo, kTile, g.b->hi.data() + size_t(j) * chunks * kTile, g.b->lo.data() + size_t(j) * chunks * kTile, chunks);
    store_accumulators(acc);
    const __m512 bias = g.bias ? _mm512_loadu_ps(g.bias + 16 * j) : _mm512_setzero_ps();
    for (int i = 0; i < rows; ++i) _mm512_storeu_ps(out + out_at[i] + j * block_stride, _mm512_add_ps(row_value(acc, i, g.scale), bias));
  }
}

void run_gather(const GatherProblem& g, float* out) {
  const int tiles = (g.pixels + 15) / 16;
#pragma omp parallel
  {
    const size_t bytes = size_t(g.b->chunks) * kTile;
    int8_t *hi = scratch(kStageHi, bytes), *lo = scratch(kStageLo, bytes);
    Accumulators acc;
    tiles_begin();
#pragma omp for schedule(static)
    for (int t = 0; t < tiles; ++t) gather_tile(g, t * 16, hi, lo, out, acc);
    tiles_end();
  }
}

// ---------------------------------------------------------------------------------------------
// Weight panels: column j's reduction element e at value(j, e) (len elements, a multiple of 4).

// Forward: columns K, element (tap, c) = w.q's KRSC row k. Per 16 columns and 64 elements:
// each column's 64 values split into 16 dwords of 4 low (high) bytes, then transposed so
// that tile row rr holds quad rr of the 16 columns.
PARADNN_AMX void pack_forward_block(const int16_t* rows, int len, int chunks, int8_t* hi, int8_t* lo) {
  alignas(64) static const struct Index {
    int8_t lo[64], hi[64];
    Index() {
      for (int o = 0; o < 64; ++o) lo[o] = int8_t(2 * o), hi[o] = int8_t(2 * o + 1);
    }
  } index;
  const __m512i il = _mm512_load_si512(index.lo), ih = _mm512_load_si512(index.hi);
  for (int q = 0; q < chunks; ++q) {
    __m512i l[16], h[16];
    const int e = q * 64;
    const __mmask32 m0 = e < len ? (len - e >= 32 ? ~__mmask32(0) : (__mmask32(1) << (len - e)) - 1) : 0;
    const __mmask32 m1 = e + 32 < len ? (len - e - 32 >= 32 ? ~__mmask32(0) : (__mmask32(1) << (len - e - 32)) - 1) : 0;
    for (int k = 0; k < 16; ++k) {
      const int16_t* row = rows + size_t(k) * len + e;
      const __m512i z0 = _mm512_maskz_loadu_epi16(m0, row), z1 = _mm512_maskz_loadu_epi16(m1, row + 32);
      l[k] = _mm512_permutex2var_epi8(z0, il, z1);
      h[k] = _mm512_permutex2var_epi8(z0, ih, z1);
    }
    transpose16(l);
    transpose16(h);
    for (int rr = 0; rr < 16; ++rr) {
      _mm512_store_si512(lo + size_t(q) * kTile + rr * 64, l[rr]);
      _mm512_store_si512(hi + size_t(q) * kTile + rr * 64, h[rr]);
    }
  }
}

// Backward-data: columns C, element (tap, k): four k rows of a tap give one tile row of 16 columns.
PARADNN_AMX void pack_backward_block(const DfpConvWeights& w, int ct, int chunks, int8_t* hi, int8_t* lo) {
  const int taps = w.r * w.s, K = w.k, C = w.c, len = taps * K;
  for (int quad = 0; quad < chunks * 16; ++quad) {
    const int e = 4 * quad, t = e / K, k0 = e % K;
    const int16_t* rows[4] = {};
    if (e < len)
      for (int i = 0; i < 4; ++i) rows[i] = w.q.data() + (size_t(k0 + i) * taps + t) * C + ct * 16;
    const size_t at = size_t(quad / 16) * kTile + (quad % 16) * 64;
    quad_row(rows, hi + at, lo + at);
  }
}

// Panels of `columns` (a multiple of 16) x len elements, a block of 16 columns a task:
// block(b, chunks, hi, lo) writes block b's tiles.
template <typename Block>
void pack_blocks(int columns, int len, SplitPanels& out, Block block) {
  const int chunks = (len + 63) / 64;
  out.chunks = chunks;
  out.hi.resize(size_t(columns) * chunks * 64);
  out.lo.resize(out.hi.size());
#pragma omp parallel for schedule(static) if (size_t(columns) * len > (size_t(1) << 16))
  for (int b = 0; b < columns / 16; ++b) {
    const size_t at = size_t(b) * chunks * kTile;
    block(b, chunks, out.hi.data() + at, out.lo.data() + at);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward-weights: dw[k][t][c] = sum over output pixels p of dy[p][k] x[p at tap t][c]. A: the
// gradient transposed, tiles [k block][chunk of 64 pixels] of 16 rows (k) x 64 pixels; B: per
// tap and 16 input channels, the input's pixel quads (row = 4 pixels x 16 channels).

// Transposes pixels [64 q, 64 q + 64) of the gradient into chunk `slot` of every k block
// (blocks `chunks` chunks apart): quads of pixels into dwords (quad_row), then 16 x 16 dword
// transposes.
PARADNN_AMX void transpose_chunk(const int16_t* dy, const std::vector<ptrdiff_t>& base, int pixels, int K, int q, int slot,
                                 int chunks, int8_t* hi, int8_t* lo) {
  alignas(64) int8_t qh[16][64], ql[16][64];
  for (int kb = 0; kb < K / 16; ++kb) {
    for (int quad = 0; quad < 16; ++quad) {
      const int16_t* rows[4];
      for (int e = 0; e < 4; ++e) {
        const int p = q * 64 + quad * 4 + e;
        rows[e] = p < pixels ? dy + base[p] + kb * 16 : nullptr;
      }
      quad_row(rows, qh[quad], ql[quad]);
    }
    __m512i h[16], l[16];
    for (int i = 0; i < 16; ++i) h[i] = _mm512_load_si512(qh[i]), l[i] = _mm512_load_si512(ql[i]);
    transpose16(h);
    transpose16(l);
    int8_t* th = hi + (size_t(kb) * chunks + slot) * kTile;
    int8_t* tl = lo + (size_t(kb) * chunks + slot) * kTile;
    for (int k = 0; k < 16; ++k) {
      _mm512_store_si512(th + k * 64, h[k]);
      _mm512_store_si512(tl + k * 64, l[k]);
    }
  }
}

// sum[k] += dy[k] over the pixels (int16 into int64 via int32 per 64-pixel run: 64 * 32768 < 2^31).
PARADNN_AMX void add_gradient(const int16_t* dy, const std::vector<ptrdiff_t>& base, int p0, int p1, int K, int64_t* sum) {
  for (int k0 = 0; k0 < K; k0 += 16) {
    __m512i acc = _mm512_setzero_si512();
    for (int p = p0; p < p1; ++p)
      acc = _mm512_add_epi32(acc, _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(dy + base[p] + k0))));
    alignas(64) int32_t v[16];
    _mm512_store_si512(v, acc);
    for (int k = 0; k < 16; ++k) sum[k0 + k] += v[k];
  }
}

// Chunks [q0, q0 + chunks) of the input's pixel quads at a tap, columns c0 .. c0 + n.
PARADNN_AMX void stage_quads(const int16_t* x, const std::vector<ptrdiff_t>& base, int pixels, ptrdiff_t tap_off, int c0, int n,
                             int q0, int chunks, int8_t* hi, int8_t* lo) {
  for (int quad = 0; quad < chunks * 16; ++quad) {
    const int16_t* rows[4];
    for (int e = 0; e < 4; ++e) {
      const int p = q0 * 64 + quad * 4 + e;
      rows[e] = p < pixels ? x + base[p] + tap_off + c0 : nullptr;
    }
    quad_row(rows, hi + size_t(quad) * 64, lo + size_t(quad) * 64, n);
  }
}

// One (tap, 16 input channels) task over `chunks` chunks (at most kMaxReduction pixels): every
// k block (A's blocks a_chunks chunks apart), into blk (K x 16), added to it where `add`.
PARADNN_AMX void weights_task(const int8_t* a_hi, const int8_t* a_lo, int a_chunks, const int8_t* b_hi, const int8_t* b_lo,
                              int chunks, int K, float scale, float* blk, bool add, Accumulators& acc) {
  for (int kb = 0; kb < K / 16; ++kb) {
    zero_accumulators();
    const size_t a0 = size_t(kb) * a_chunks * kTile;
    accumulate(a_hi + a0, a_lo + a0, kTile, b_hi, b_lo, chunks);
    store_accumulators(acc);
    for (int i = 0; i < 16; ++i) {
      float* o = blk + size_t(kb * 16 + i) * 16;
      const __m512 v = row_value(acc, i, scale);
      _mm512_storeu_ps(o, add ? _mm512_add_ps(_mm512_loadu_ps(o), v) : v);
    }
  }
}

// Few channels (the 3-channel stem): a kernel row's S pixels x cp channels, contiguous in the
// pack, are one reduction "tap" (7 x 4 = 28 of 32 elements for a 7x7 stem), not S taps of cp.
int packed_channels(int c) { return (c + 1) / 2 * 2; }  // the DFP packs' cp: channels rounded up to even

bool flat_rows(const ConvShape& s) {
  const int cp = packed_channels(s.c);
  return s.c < 16 && s.s * cp <= 32 && s.r * s.s * cp >= 32;
}

}  // namespace

// Reductions under 64 (a 1x1 on 32 channels) fill half a tile product and pay a whole drain per
// 16 x 16 outputs: slower than vpdpwssd there (Xeon, 2 cores: 0.6x the f32 1x1 against 0.8x),
// as is backward-weights on a 1x1 under 64 input channels (staging the gradient for one tap).
bool takes_forward(const ConvShape& s) {
  if (s.k % 16) return false;
  if (flat_rows(s)) return true;
  return s.c % 32 == 0 && s.r * s.s * s.c >= 64 && s.r * s.s * s.c <= kMaxReduction;
}
bool takes_backward_data(const ConvShape& s) {
  return s.stride == 1 && s.k % 32 == 0 && s.c % 16 == 0 && s.r * s.s * s.k >= 64 && s.r * s.s * s.k <= kMaxReduction;
}
bool takes_backward_weights(const ConvShape& s) {
  return s.k % 16 == 0 && (flat_rows(s) || (s.c % 16 == 0 && (s.r * s.s > 1 || s.c >= 64)));
}

// Panels from value(column, element), len elements a column: a plain loop, for small weights
// (the flat stem's 32 x 7 x 32).
template <typename Value>
void pack_panels(int columns, int len, SplitPanels& out, Value value) {
  const int chunks = (len + 63) / 64;
  out.chunks = chunks;
  out.hi.assign(size_t(columns) * chunks * 64, 0);
  out.lo.assign(out.hi.size(), 0);
  for (int j = 0; j < columns; ++j)
    for (int e = 0; e < len; ++e) {
      const int16_t v = value(j, e);
      const size_t at = (size_t(j / 16) * chunks + e / 64) * kTile + (e % 64) / 4 * 64 + j % 16 * 4 + e % 4;
      out.hi[at] = int8_t(v >> 8);
      out.lo[at] = int8_t(v & 0xff);
    }
}

void pack_weights(const ConvShape& s, DfpConvWeights& w) {
  if (takes_forward(s) && flat_rows(s)) {  // element (r, s' * cp + c), zero past S * cp and for c >= C
    const int cp = packed_channels(s.c), row = (s.s * cp + 31) / 32 * 32;
    pack_panels(s.k, s.r * row, w.amx_fwd, [&](int k, int e) -> int16_t {
      const int r = e / row, j = e % row, c = j % cp;
      return j < s.s * cp && c < s.c ? w.q[((size_t(k) * s.r + r) * s.s + j / cp) * s.c + c] : 0;
    });
  } else if (takes_forward(s)) {
    const int len = s.r * s.s * s.c;
    pack_blocks(s.k, len, w.amx_fwd, [&](int kb, int chunks, int8_t* hi, int8_t* lo) {
      pack_forward_block(w.q.data() + size_t(kb) * 16 * len, len, chunks, hi, lo);
    });
  }
  if (takes_backward_data(s))
    pack_blocks(s.c, s.r * s.s * s.k, w.amx_bwd,
                [&](int ct, int chunks, int8_t* hi, int8_t* lo) { pack_backward_block(w, ct, chunks, hi, lo); });
}

void forward(const ConvShape& s, const DfpActivation& x, const DfpConvWeights& w, const float* bias, float* y) {
  if (!takes_forward(s) || w.amx_fwd.chunks == 0) throw std::invalid_argument("amx dfp conv forward: shape not taken or weights not packed");
  GatherProblem g;
  g.src = x.data.data();
  g.cp = x.cp;
  if (flat_rows(s)) {  // a kernel row's S pixels x cp channels are contiguous: one "tap"
    g.valid = s.s * x.cp;
    g.channels = (g.valid + 31) / 32 * 32;
    for (int r = 0; r < s.r; ++r) g.off.push_back(ptrdiff_t(r) * x.wp * x.cp);
  } else {
    g.valid = g.channels = x.cp;
    for (int r = 0; r < s.r; ++r)
      for (int c = 0; c < s.s; ++c) g.off.push_back(ptrdiff_t(r * x.wp + c) * x.cp);
  }
  g.b = &w.amx_fwd;
  g.columns = s.k;
  g.scale = std::ldexp(1.0f, x.exponent + w.exponent);
  g.bias = bias;
  g.plane = s.oh() * s.ow();
  g.pixels = s.n * g.plane;
  g.out_w = s.ow();
  g.stride = s.stride;
  g.img_stride = ptrdiff_t(x.hp) * x.wp * x.cp;
  g.row_stride = ptrdiff_t(s.stride) * x.wp * x.cp;
  g.origin = 0;  // output (0, 0)'s first tap is the pack's (0, 0): its padding is the conv's
  g.blocked = s.out == ActLayout::nChw16c;
  run_gather(g, y);
}

void backward_data(const ConvShape& s, const DfpActivation& dy, const DfpConvWeights& w, float* dx) {
  if (!takes_backward_data(s) || w.amx_bwd.chunks == 0)
    throw std::invalid_argument("amx dfp conv backward-data: shape not taken or weights not packed");
  GatherProblem g;
  g.src = dy.data.data();
  g.valid = g.channels = g.cp = dy.cp;
  // Input pixel (ih, iw) reads the gradient at (ih + pad - r, iw + pad - s) for tap (r, s).
  for (int r = 0; r < s.r; ++r)
    for (int c = 0; c < s.s; ++c) g.off.push_back(-ptrdiff_t(r * dy.wp + c) * dy.cp);
  g.b = &w.amx_bwd;
  g.columns = s.c;
  g.scale = std::ldexp(1.0f, dy.exponent + w.exponent);
  g.plane = s.h * s.w;
  g.pixels = s.n * g.plane;
  g.out_w = s.w;
  g.stride = 1;
  g.img_stride = ptrdiff_t(dy.hp) * dy.wp * dy.cp;
  g.row_stride = ptrdiff_t(dy.wp) * dy.cp;
  g.origin = (ptrdiff_t(s.pad + dy.top) * dy.wp + s.pad + dy.left) * dy.cp;
  g.blocked = s.in == ActLayout::nChw16c;
  run_gather(g, dx);
}

void backward_weights(const ConvShape& s, const DfpActivation& x, const DfpActivation& dy, float* dw, float* dbias) {
  if (!takes_backward_weights(s)) throw std::invalid_argument("amx dfp conv backward-weights: shape not taken");
  const int oh = s.oh(), ow = s.ow(), plane = oh * ow, pixels = s.n * plane, chunks = (pixels + 63) / 64;
  const int taps = s.r * s.s, K = s.k, C = s.c;
  std::vector<ptrdiff_t> xbase(pixels), dybase(pixels);
  for (int p = 0; p < pixels; ++p) {
    const int n = p / plane, oy = p % plane / ow, ox = p % ow;
    xbase[p] = ((ptrdiff_t(n) * x.hp + oy * s.stride) * x.wp + ox * s.stride) * x.cp;
    dybase[p] = ((ptrdiff_t(n) * dy.hp + oy + dy.top) * dy.wp + ox + dy.left) * dy.cp;
  }
  const float scale = std::ldexp(1.0f, x.exponent + dy.exponent);
  // Reduction "taps" and their columns: (r, s) x C, or for flat rows r x (s, c) (S * cp of them).
  const bool flat = flat_rows(s);
  const int row_taps = flat ? s.r : taps, width = flat ? s.s * x.cp : C, blocks = (width + 15) / 16;
  const int tasks = row_taps * blocks;
  // Pixels in groups whose transposed gradient (K / 16 x group chunks) stays near 256 KB: every
  // task of a group reads it from L2 (a 32768-pixel stem's whole gradient, 2 MB, streamed from
  // memory once a task, ran 1.8 ms). Per task the groups' sums add up in blk.
  const int group = std::clamp(128 * 16 / K, 4, kMaxReduction / 64);
  const size_t a_bytes = size_t(K / 16) * group * kTile;
  int8_t *a_hi = scratch(kGradHi, a_bytes), *a_lo = scratch(kGradLo, a_bytes);  // the calling thread's: shared
  // Each task's K x 16 sums: one block per task where several groups add into it (the calling
  // thread's buffer, shared), else one per thread (a deep layer's 144 blocks would be 2.4 MB).
  const bool one_group = chunks <= group;
  thread_local std::vector<float> blk_keep;
  if (!one_group && blk_keep.size() < size_t(tasks) * K * 16) blk_keep.resize(size_t(tasks) * K * 16);
  float* const blk_all = blk_keep.data();
  // dw from task t's block b (K x 16): columns (tap t, c) or, flat, row t's (s', c).
  const auto scatter = [&](int task, const float* b) {
    const int t = task / blocks, cb = task % blocks;
    if (!flat) {  // 16 whole channels a row
      for (int k = 0; k < K; ++k) std::memcpy(dw + (size_t(k) * taps + t) * C + cb * 16, b + k * 16, 16 * sizeof(float));
      return;
    }
    for (int k = 0; k < K; ++k)
      for (int j = 0; j < 16 && cb * 16 + j < width; ++j) {
        const int col = cb * 16 + j;
        if (col % x.cp < C) dw[((size_t(k) * s.r + t) * s.s + col / x.cp) * C + col % x.cp] = b[k * 16 + j];
      }
  };
#pragma omp parallel
  {
    int8_t *b_hi = scratch(kStageHi, size_t(group) * kTile), *b_lo = scratch(kStageLo, size_t(group) * kTile);
    float* const own = one_group ? reinterpret_cast<float*>(scratch(kSums, size_t(K) * 16 * sizeof(float))) : nullptr;
    Accumulators acc;
    tiles_begin();
    for (int q0 = 0; q0 < chunks; q0 += group) {
      const int nq = std::min(group, chunks - q0);
#pragma omp for schedule(static)
      for (int q = 0; q < nq; ++q) transpose_chunk(dy.data.data(), dybase, pixels, K, q0 + q, q, group, a_hi, a_lo);
#pragma omp for schedule(dynamic, 1)
      for (int task = 0; task < tasks; ++task) {
        const int t = task / blocks, cb = task % blocks;
        const ptrdiff_t tap_off = flat ? ptrdiff_t(t) * x.wp * x.cp : ptrdiff_t((t / s.s) * x.wp + t % s.s) * x.cp;
        stage_quads(x.data.data(), xbase, pixels, tap_off, cb * 16, std::min(16, width - cb * 16), q0, nq, b_hi, b_lo);
        float* blk = one_group ? own : blk_all + size_t(task) * K * 16;
        weights_task(a_hi, a_lo, group, b_hi, b_lo, nq, K, scale, blk, q0 > 0, acc);
        if (q0 + nq == chunks) scatter(task, blk);
      }
    }
    tiles_end();
  }
  if (dbias) {
    std::vector<int64_t> sum(K, 0);
    for (int p = 0; p < pixels; p += 64) add_gradient(dy.data.data(), dybase, p, std::min(pixels, p + 64), K, sum.data());
    for (int k = 0; k < K; ++k) dbias[k] = std::ldexp(float(sum[k]), dy.exponent);
  }
}

#pragma GCC diagnostic pop

}  // namespace paradnn::cpu::lowp::amx
