// INT16 DFP convolution products on AMX tiles (Intel Xeon 4th generation and later), exact.
// An int16 value q is 256 h + l, h its signed high byte and l its unsigned low byte, so one
// int16 product is four int8 products, and AMX has a tile product for each pair of signs:
//   x . w = 65536 (xh . wh) + 256 (xh . wl + xl . wh) + xl . wl
//           tdpbssd           tdpbsud   tdpbusd         tdpbuud
// Three int32 accumulator tiles (HH, the two cross terms, LL) cannot overflow over the
// reductions run here (each is at most 2 * 255 * 255 per reduction element; backward-weights
// drains them every 32768 pixels), and the drain adds them in int64 and rounds once to f32:
// each output is the exact integer dot product rounded to f32, times the two exponents.
// Four int8 products per int16 one at AMX's int8 rate (16 x 16 x 64 products per tile
// instruction) still beat vpdpwssd's 32 a lane: that is why this path exists.
//
// The operands are the same DFP packs the VNNI kernels read (dfp_conv.hpp); a tile of 16
// pixels is staged from them into split (high, low) byte rows, so any stride runs:
//  - forward: 16 output pixels x 16 output channels, reduction (tap, c) in KRSC order;
//  - backward-data (stride 1): 16 input pixels x 16 input channels, reduction (tap, k), the
//    gradient read at the mirrored taps;
//  - backward-weights: per tap, 16 output channels x 16 input channels, reduction over the
//    batch's output pixels in groups (the gradient transposed once per group, the input's
//    pixel quads staged per tap).
// Few channels (the 3-channel stem): a kernel row's S pixels x channels, contiguous in the
// pack, are one reduction tap. The rest stays on vpdpwssd (takes_*): backward-data at stride
// 2, and 1x1s on under 64 channels, where a half-empty tile product per drain measured slower.
#pragma once
#include "platforms/cpu/lowp/dfp_conv.hpp"

namespace paradnn::cpu::lowp::amx {

// Whether the products below take this shape (else the VNNI kernels run it): channels the
// staging reads in whole vectors, and (backward-data) stride 1.
bool takes_forward(const ConvShape& s);
bool takes_backward_data(const ConvShape& s);
bool takes_backward_weights(const ConvShape& s);

// The weights' tile panels (DfpConvWeights::amx_fwd, amx_bwd) for the products that take s,
// from w.q; dfp_pack_weights calls it where detected_int_isa() is amx_int8.
void pack_weights(const ConvShape& s, DfpConvWeights& w);

// As dfp_conv_forward, dfp_conv_backward_data, dfp_conv_backward_weights (same packs, same layouts).
void forward(const ConvShape& s, const DfpActivation& x, const DfpConvWeights& w, const float* bias, float* y);
void backward_data(const ConvShape& s, const DfpActivation& dy, const DfpConvWeights& w, float* dx);
void backward_weights(const ConvShape& s, const DfpActivation& x, const DfpActivation& dy, float* dw, float* dbias);

}  // namespace paradnn::cpu::lowp::amx
