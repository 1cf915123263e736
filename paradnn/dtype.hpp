// Numeric types a graph op can compute in.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace paradnn {

// int16_dfp: INT16 dynamic fixed point training (Das et al. 2018): dense and conv products
// on int16 operands sharing one exponent per tensor; tensors are kept in f32 between ops.
enum class DType { f32, tf32, bf16, f16, int8, int16, s32, int16_dfp };

std::string_view to_string(DType t);
DType parse_dtype(std::string_view s);  // throws InputError on an unknown name
int64_t size_of(DType t);               // bytes per element

}  // namespace paradnn
