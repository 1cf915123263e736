// Integer GEMMs with int32 accumulation, written with intrinsics (oneDNN 2.6 has no s16
// matmul): C = op(A) * op(B), op(A) M x K and op(B) K x N, all row-major (a transposed
// operand is read through its packing, never copied). Blocked GotoBLAS-style: a KC x NC block
// of B and an MC x KC block of A are packed into panels of 6 rows x 32 columns, in which
// each 32-bit lane holds the G consecutive k values one dot-product instruction consumes
// (G = 2 for int16: vpdpwssd / vpmaddwd; G = 4 for int8: vpdpbusd).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace paradnn::cpu::lowp {

// Which instructions the kernels use; chosen at run time from the cpuid flags (cpu_features).
// amx_int8: the DFP convolutions on AMX tiles (dfp_conv_amx.hpp), where cpuid has AMX-INT8 and
// Linux granted the tile state; everything else then runs avx512_vnni (vector_isa).
enum class IntIsa { amx_int8, avx512_vnni, avx512bw, avx2, scalar };
inline IntIsa vector_isa(IntIsa isa) { return isa == IntIsa::amx_int8 ? IntIsa::avx512_vnni : isa; }
IntIsa detected_int_isa();  // the best this CPU runs
std::vector<IntIsa> runnable_int_isas();  // every one this CPU runs, best first (tests run them all)
std::string to_string(IntIsa isa);  // also names the instruction, e.g. "avx512_vnni (vpdpwssd)"
// AVX-512 F and BW: what the lowp packing and quantizing loops' vector versions need (built
// for the baseline ISA, their scalar versions do not vectorize).
bool has_avx512bw();

// The GEMM's pair packs, for other packers of int16 pair words (the DFP conv weights). AVX-512
// (call where has_avx512bw()); width 16 or 32. d[g * width + j], j < live, is:
//  - pack_pair_words: the pair (2g, 2g + 1) of row j, rows `ld` int16 apart from row0,
//    g < pairs (16x16 register transposes); rows past live zero;
//  - interleave_row_pairs: (row 2g [j], row 2g + 1 [j]) of rows `ld` apart from lo, g < groups,
//    the high half zero for g >= pairs (vpermt2w); columns past live zero.
void pack_pair_words(const int16_t* row0, int ld, int live, int pairs, int width, int32_t* d);
void interleave_row_pairs(const int16_t* lo, int ld, int live, int groups, int pairs, int width, int32_t* d);

struct IntGemmArgs {
  bool trans_a = false, trans_b = false;
  int m = 0, n = 0, k = 0;
  int lda = 0, ldb = 0, ldc = 0;
};

// C (int32, overwritten) = op(A) op(B), exact while no partial sum leaves int32.
void gemm_s16s16s32(const IntGemmArgs& g, const int16_t* a, const int16_t* b, int32_t* c, IntIsa isa);
// Signed int8 x int8. VNNI: A shifted to u8 (a + 128) for vpdpbusd and 128 * column sums of B
// subtracted afterwards (oneDNN's compensation). Without VNNI the operands are widened to
// int16 and run through the int16 kernel (exact; vpmaddubsw saturates).
void gemm_s8s8s32(const IntGemmArgs& g, const int8_t* a, const int8_t* b, int32_t* c, IntIsa isa);
// Dynamic-fixed-point product: C (f32, overwritten) = scale * op(A) op(B), exact up to f32
// rounding for |a|, |b| <= 32767. Partial int32 sums are converted to f32 and restarted
// every L products, L chosen so that no partial sum can leave int32 (overflow management as
// in Das et al. 2018; gemm_chain_groups): operands with headroom (fewer magnitude bits, see
// dfp.hpp) or small values get long chains, full-scale ones a conversion per vpdpwssd.
// max_a, max_b: bounds on |a|, |b| where the caller knows them (a DFP operand does); -1: a
// pass over each operand finds them.
void gemm_s16s16f32(const IntGemmArgs& g, const int16_t* a, const int16_t* b, float scale, float* c, IntIsa isa,
                    int max_a = -1, int max_b = -1);
// The int32 chain gemm_s16s16f32 uses, in groups of 2 products: the longest power of two
// (up to a whole 512-deep k slice) for which no chain can leave int32. A chain's sum is at
// most (sum of |a| over its k-window of op(A)'s row) * max|b|, so windows of small
// activations or sparse gradients run long chains, and a window at full scale (adversarial
// operands) keeps the worst case's 2 * chain * max|a| * max|b| <= 2^31 - 1.
int gemm_chain_groups(const IntGemmArgs& g, const int16_t* a, int max_a, int max_b);

// Plain loops in int64, for tests.
template <typename T>
void reference_gemm(const IntGemmArgs& g, const T* a, const T* b, int64_t* c) {
  for (int i = 0; i < g.m; ++i)
    for (int j = 0; j < g.n; ++j) {
      int64_t s = 0;
      for (int p = 0; p < g.k; ++p)
        s += int64_t(g.trans_a ? a[p * g.lda + i] : a[i * g.lda + p]) * int64_t(g.trans_b ? b[j * g.ldb + p] : b[p * g.ldb + j]);
      c[i * g.n + j] = s;
    }
}

}  // namespace paradnn::cpu::lowp
