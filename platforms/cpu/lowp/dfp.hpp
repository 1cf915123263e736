// Dynamic fixed point (DFP): a tensor shares one power-of-two exponent e, chosen from its
// largest magnitude each time it is quantized; element x is stored as q = round(x / 2^e)
// in int16 (|q| <= 32767), so the step is 2^e and the round-trip error at most 2^(e-1).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "platforms/cpu/lowp/int_gemm.hpp"

namespace paradnn::cpu::lowp {

inline constexpr int kDfp16Max = 32767;
// The range weights and gradients are quantized to: 12 magnitude bits leave int32 room for
// 128 products of two such operands (128 * 4095^2 < 2^31), or 16 with a full-range
// activation, so the products convert to f32 once per 16-128 products, not per pair as two
// full-scale operands would need.
inline constexpr int kDfpGemmMax = 4095;
// Activations (the x operand of every product) keep the full int16 range. Measured on the
// shape-image CNN (300 steps, mean over five data seeds): f32 0.824 held-out accuracy; DFP
// with 12-bit activations 0.735, 13-14 bits 0.73-0.78, 15 bits 0.829. (The FC task learns
// the same at 11 to 15 bits.) The step costs about the same: chains of 8 pairs, not 64.
inline constexpr int kDfpActivationMax = kDfp16Max;

// Smallest e with max|x| / 2^e <= qmax (0 for an all-zero tensor). A qmax below 32767 leaves
// headroom: products of such operands can be summed longer in int32 (see gemm_s16s16f32).
int dfp_exponent(const float* x, size_t n, int qmax = kDfp16Max);
// The same exponent from the tensor's largest magnitude.
int dfp_exponent_for_max(float amax, int qmax = kDfp16Max);
// max |q| of a tensor with largest magnitude amax quantized with exponent e (quantizing is
// monotonic in |x|); 32767 where amax is not finite.
int dfp_qmax_of(float amax, int exponent);
// One pass, one thread: quantizes x with exponent e as dfp_quantize does and returns max |x|
// (what dfp_quantize_speculating checks its guess against).
float dfp_quantize_max(const float* x, size_t n, int exponent, int16_t* q);
// The same for a row of a blocked (nChw16c) tensor into pixel-major int16: pixel p's 16
// channels of block b at x + b * block_stride + 16 * p, written to q + p * q_stride + 16 * b
// (a pixel's blocks one after the other, so each output line is written whole).
float dfp_quantize_max_blocked(const float* x, int blocks, size_t block_stride, int pixels, int exponent, int16_t* q,
                               size_t q_stride);
// Quantizes from the tensor's last exponent: quantize(e) quantizes with e and returns max |x|;
// when the exponent that max calls for differs, once more with it (the tensor's range moved).
// Leaves the exponent and max |q| of the result: the same as max pass first.
template <typename Quantize>
void dfp_quantize_speculating(int& exponent, int& qmax_out, int qmax, Quantize quantize) {
  for (;;) {
    const float amax = quantize(exponent);
    const int want = dfp_exponent_for_max(amax, qmax);
    if (want == exponent) {
      qmax_out = dfp_qmax_of(amax, exponent);
      return;
    }
    exponent = want;
  }
}
// Quantizes x with exponent e (round to nearest, saturating); returns e for chaining.
int dfp_quantize(const float* x, size_t n, int exponent, int16_t* q);
// Both steps: the tensor's own exponent, then the quantization.
int dfp_quantize(const float* x, size_t n, int16_t* q);
void dfp_dequantize(const int16_t* q, size_t n, int exponent, float* x);

// A GEMM operand in DFP: quantized once (to max |q| <= qmax: kDfpGemmMax for weights and
// gradients, kDfpActivationMax for activations) and read by every product that needs it.
// Quantizing starts from the last exponent (one pass over x while it holds).
struct DfpTensor {
  std::vector<int16_t> q;
  int exponent = 0;
  int qmax = 0;  // max |q| (the overflow rule's bound)
  void quantize(const float* x, size_t n, int qmax_wanted = kDfpGemmMax);
};
// C (f32, m x n, overwritten) = op(A) op(B) for dense row-major DFP operands, scaled back by
// 2^(ea + eb) (gemm_s16s16f32's overflow rule applies).
void dfp_gemm(bool ta, bool tb, int m, int n, int k, const DfpTensor& a, const DfpTensor& b, float* c, IntIsa isa);

}  // namespace paradnn::cpu::lowp
