#include "paradnn/dtype.hpp"

#include "paradnn/error.hpp"

namespace paradnn {

std::string_view to_string(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::tf32: return "tf32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::int8: return "int8";
    case DType::int16: return "int16";
    case DType::s32: return "s32";
    case DType::int16_dfp: return "int16_dfp";
  }
  return "?";
}

DType parse_dtype(std::string_view s) {
  for (DType t : {DType::f32, DType::tf32, DType::bf16, DType::f16, DType::int8, DType::int16, DType::s32, DType::int16_dfp})
    if (to_string(t) == s) return t;
  throw InputError("unknown dtype '" + std::string(s) + "' (expected f32, tf32, bf16, f16, int8, int16, int16_dfp)");
}

int64_t size_of(DType t) {
  switch (t) {
    case DType::f32: case DType::tf32: case DType::s32: return 4;
    case DType::int16_dfp: return 4;  // tensors stay f32 between ops; int16 copies live inside products
    case DType::bf16: case DType::f16: case DType::int16: return 2;
    case DType::int8: return 1;
  }
  return 4;
}

}  // namespace paradnn
