// Dynamic fixed point (DFP): a tensor shares one power-of-two exponent e, chosen from its
// largest magnitude each time it is quantized; element x is stored as q = round(x / 2^e)
// in int16 (|q| <= 32767), so the step is 2^e and the round-trip error at most 2^(e-1).
#pragma once
#include <cstddef>
#include <cstdint>

namespace paradnn::cpu::lowp {

inline constexpr int kDfp16Max = 32767;

// Smallest e with max|x| / 2^e <= 32767 (0 for an all-zero tensor).
int dfp_exponent(const float* x, size_t n);
// Quantizes x with exponent e (round to nearest, saturating); returns e for chaining.
int dfp_quantize(const float* x, size_t n, int exponent, int16_t* q);
// Both steps: the tensor's own exponent, then the quantization.
int dfp_quantize(const float* x, size_t n, int16_t* q);
void dfp_dequantize(const int16_t* q, size_t n, int exponent, float* x);

}  // namespace paradnn::cpu::lowp
