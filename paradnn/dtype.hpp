// Numeric types a graph op can compute in.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace paradnn {

enum class DType { f32, tf32, bf16, f16, int8, int16, s32 };

std::string_view to_string(DType t);
DType parse_dtype(std::string_view s);  // throws InputError on an unknown name
int64_t size_of(DType t);               // bytes per element

}  // namespace paradnn
