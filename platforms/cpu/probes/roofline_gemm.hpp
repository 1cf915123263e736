// The library ceiling: oneDNN's best large square GEMM (matmul with the weights in the layout
// oneDNN prefers), at the current OpenMP thread count. It uses whatever the library does best
// (AMX tiles, VNNI), so it can sit above the hand-written vector kernels.
#pragma once
#include <optional>
#include <string>

#include "platforms/cpu/probes/roofline_timing.hpp"

namespace paradnn::cpu {

struct GemmCeiling {
  Rate rate;         // FLOP/s (ops/s for int8), 2 n^3 per multiply
  std::string impl;  // the kernel oneDNN chose (impl_info_str)
};

// dtype f32, bf16 (bf16 inputs, f32 output) or int8 (u8 x s8 -> s32). nullopt where oneDNN
// has no implementation here. Throws std::runtime_error if the product is not the exact one.
std::optional<GemmCeiling> library_gemm(const std::string& dtype, int n, int repetitions);

}  // namespace paradnn::cpu
