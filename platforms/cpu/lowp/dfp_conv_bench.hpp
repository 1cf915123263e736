// `paradnn lowp`'s DFP convolution rows: INT16 dynamic fixed point convolution (dfp_conv.hpp)
// forward, backward-data and backward-weights against oneDNN f32 convolution (format_tag::any
// for oneDNN's own best layouts, reorders outside the timing) on a ResNet-like set of shapes,
// plus the per-tensor quantize-and-pack passes and a whole-layer step (3 products + 3 packs vs
// oneDNN's 3 products). GFLOP/s count 2 N OH OW K C R S per product.
#pragma once
#include <functional>
#include <vector>

#include "platforms/cpu/lowp/dfp_conv.hpp"
#include "platforms/cpu/lowp/lowp_bench.hpp"

namespace paradnn::cpu::lowp {

// (N32,C64,K64,56x56,3x3), (N32,C64,K256,56x56,1x1), (N32,C128,K128,28x28,3x3),
// (N32,C16,K16,64x64,3x3), (N32,C32,K32,32x32,3x3); quick: batch 8.
std::vector<ConvShape> dfp_conv_bench_shapes(bool quick);

void dfp_conv_rows(const std::vector<ConvShape>& shapes, const std::function<void(const LowpRow&)>& add, const LowpTimer& timer);

}  // namespace paradnn::cpu::lowp
