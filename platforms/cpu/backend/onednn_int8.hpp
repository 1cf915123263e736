// What the CPU backend's int8 path can run (onednn_int8.cpp builds it).
#pragma once
#include <optional>
#include <string>

#include "paradnn/graph.hpp"

namespace paradnn::cpu {

// Why op `op` of `g` cannot compute in int8 in mode `m`, or nullopt: int8 is inference of
// dense and conv layers (and a ReLU fused into one) and of LSTM and GRU stacks; the rest of
// an int8 point runs in f32 as the precision policy (paradnn/quantization.hpp) sets it.
std::optional<std::string> int8_unsupported_reason(const Graph& g, const Op& op, Mode m);

}  // namespace paradnn::cpu
