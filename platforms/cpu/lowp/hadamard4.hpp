// Hadamard-domain 4-bit products (as in "Hadamard Domain Training with Integers for Class
// Incremental Quantized Learning"): both operands are rotated by a block Walsh-Hadamard
// transform along the reduction dimension (hadamard.hpp), quantized symmetrically to 4 bits
// (values in [-7, 7]; per row of op(A), per column of op(B); round-to-nearest for activations
// and weights, seeded stochastic rounding for gradients), packed two values per byte, and
// multiplied with products accumulated in int8 tiles, then widened (int16, then int32) and
// scaled back to f32.
//
// The int8 tile: a product of two 4-bit values has |p| <= 7 * 7 = 49, so an int8 accumulator
// can hold T products without overflow iff T * max|a| * max|b| <= 127. At full scale that is
// T = 2, and since every nonzero row (column) of a per-row (per-column) quantized operand
// reaches |q| = 7, full scale is what training always sees: the tiles are two products long.
// The kernel uses the largest even T the bound allows (T >= 2 always holds), widens the int8
// tile into int16 (exact for 32767 / (T * max|a| * max|b|) tiles, at least 334) and the int16
// sums into int32.
//
// Kernel (no 4-bit multiply exists on x86): a product is a table look-up. For each value of
// a, the 16 products a * b over b's nibble are a 16-byte table; vpshufb maps 64 unpacked
// nibbles of B (shift + mask) to their 64 int8 products in one instruction, vpaddb adds them
// into the int8 tile, which is widened in-lane into int16 (even and odd byte lanes apart).
// AVX-512BW (64 columns a row), AVX2 (32), scalar; with the overflow check off and full-scale
// tiles, AVX-512 widens by an offset-binary trick (see hadamard4.cpp) in fewer instructions.
// No x86 instruction multiplies nibbles, so unpacking and look-ups cost about as much as f32
// FMAs: on Zen 4 the int8-tile product runs near dnnl_sgemm's rate and below bf16's, and the
// transforms and quantization add more (`paradnn lowp` measures it).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "platforms/cpu/lowp/int_gemm.hpp"

namespace paradnn::cpu::lowp {

constexpr int kS4Max = 7;          // 4-bit values lie in [-kS4Max, kS4Max]
constexpr int kS4PanelCols = 64;   // packed B rows are padded to a multiple of this

enum class Rounding { nearest, stochastic };
std::string to_string(Rounding r);

// Symmetric 4-bit quantization, scale = max|x| / 7 (1 for an all-zero row or column):
// per row of A (m x k) or per column of B (k x n), dense row-major. Stochastic rounding
// takes floor(x / scale + u), u uniform in [0, 1) from a counter-based generator keyed by
// (seed, element index): deterministic whatever the thread count.
void quantize_rows_s4(const float* a, int m, int k, Rounding r, uint64_t seed, int8_t* q, float* scale);
void quantize_cols_s4(const float* b, int k, int n, Rounding r, uint64_t seed, int8_t* q, float* scale);

// Two 4-bit values (two's complement nibbles) per byte, the low nibble holding the even
// reduction index. A side (m x k): row i's bytes contiguous, kb = ceil(k / 2) per row. B side
// (k x n): byte row q holds reduction indices 2q and 2q + 1 of a column; the columns (n padded
// with zeros to ld, a multiple of kS4PanelCols) are cut into panels of kS4PanelCols, each
// panel stored whole (kb rows of 64 bytes) after the previous one, so the kernel streams a
// panel contiguously. An odd k is padded with a zero nibble.
struct PackedS4 {
  int k = 0;        // reduction length
  int other = 0;    // m (A side) or n (B side)
  int ld = 0;       // A side: bytes per row (kb); B side: n padded to a multiple of kS4PanelCols
  int max_abs = 0;  // max |value| (sets the int8 tile length)
  std::vector<uint8_t> bytes;
  int kb() const { return (k + 1) / 2; }
};
PackedS4 pack_a_s4(const int8_t* q, int m, int k);  // q: m x k
PackedS4 pack_b_s4(const int8_t* q, int k, int n);  // q: k x n
void pack_a_s4(const int8_t* q, int m, int k, PackedS4& out);  // reusing out's storage
void pack_b_s4(const int8_t* q, int k, int n, PackedS4& out);
std::vector<int8_t> unpack_a_s4(const PackedS4& p);  // m x k
std::vector<int8_t> unpack_b_s4(const PackedS4& p);  // k x n

// The int8 tile length the kernel uses: the largest even T with T * max_a * max_b <= 127
// (both in [0, 7]; T = 2 at full scale, capped at 64 for tiny or zero operands).
int s4_tile_steps(int max_a, int max_b);

struct S4GemmOptions {
  bool check_overflow = false;  // count accumulator overflows (int8 tiles and int16 sums)
  int tile_steps = 0;           // 0: s4_tile_steps(); tests force longer tiles to see overflows
};
struct S4GemmStats {
  int64_t overflows = 0;   // accumulator lanes that wrapped (counted when check_overflow)
  int64_t calls = 0;
  int tile_steps = 0;      // of the last call
  void add(const S4GemmStats& s) {
    overflows += s.overflows;
    calls += s.calls;
    tile_steps = s.tile_steps;
  }
};

// C (m x n int32, leading dimension ldc, overwritten) = A B on packed 4-bit operands (A side
// m x k, B side k x n). Exact when no accumulator overflows, which the chosen tile length
// guarantees. avx512_vnni runs the AVX-512BW kernel (no VNNI instruction takes nibbles).
S4GemmStats gemm_s4s4s32(const PackedS4& a, const PackedS4& b, int32_t* c, int ldc, IntIsa isa,
                         const S4GemmOptions& options = {});

// C (f32, dense m x n, overwritten) ~ op(A) op(B), op(A) m x k and op(B) k x n, dense
// row-major (a transposed operand is stored k x m or n x k): op(A) and op(B) are copied with
// k zero-padded to a multiple of the block, transformed along k, quantized (each operand with
// its own rounding), packed, multiplied and scaled back. Buffers are kept between calls;
// overflow statistics accumulate over calls.
class Hadamard4Gemm {
 public:
  Hadamard4Gemm(int block, IntIsa isa, bool check_overflow = true) : block_(block), isa_(isa), check_(check_overflow) {}
  void run(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c, Rounding ra = Rounding::nearest,
           Rounding rb = Rounding::nearest, uint64_t seed = 0);
  // Only the 4-bit product and the scaling back, on the operands the last run() prepared.
  void run_s4_only(float* c);
  const S4GemmStats& stats() const { return stats_; }
  IntIsa isa() const { return isa_; }

 private:
  int block_;
  IntIsa isa_;
  bool check_;
  int m_ = 0, n_ = 0;
  std::vector<float> a_, b_, sa_, sb_;
  std::vector<int8_t> qa_, qb_;
  PackedS4 pa_, pb_;
  std::vector<int32_t> c32_;
  S4GemmStats stats_;
};

// The kernel `isa` runs, for reports: "avx512bw (vpshufb)" (also for avx512_vnni), "avx2 (vpshufb)", "scalar".
std::string s4_kernel_name(IntIsa isa);

// Plain loops in int64 over unpacked values, for tests.
void reference_gemm_s4(const PackedS4& a, const PackedS4& b, int64_t* c);

}  // namespace paradnn::cpu::lowp
