#include "platforms/cpu/lowp/dfp.hpp"

#include <algorithm>
#include <cmath>

namespace paradnn::cpu::lowp {

int dfp_exponent(const float* x, size_t n) {
  float amax = 0;
#pragma omp parallel for reduction(max : amax) schedule(static)
  for (size_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  if (amax == 0 || !std::isfinite(amax)) return 0;
  int e = static_cast<int>(std::ceil(std::log2(amax / kDfp16Max)));
  while (std::ldexp(amax, -e) > kDfp16Max) ++e;  // log2's rounding
  while (std::ldexp(amax, -(e - 1)) <= kDfp16Max) --e;
  return e;
}

int dfp_quantize(const float* x, size_t n, int exponent, int16_t* q) {
  const float inv_step = std::ldexp(1.0f, -exponent);
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(x[i] * inv_step);
    q[i] = static_cast<int16_t>(std::clamp(v, -float(kDfp16Max), float(kDfp16Max)));
  }
  return exponent;
}

int dfp_quantize(const float* x, size_t n, int16_t* q) { return dfp_quantize(x, n, dfp_exponent(x, n), q); }

void dfp_dequantize(const int16_t* q, size_t n, int exponent, float* x) {
  const float step = std::ldexp(1.0f, exponent);
  for (size_t i = 0; i < n; ++i) x[i] = step * q[i];
}

}  // namespace paradnn::cpu::lowp
