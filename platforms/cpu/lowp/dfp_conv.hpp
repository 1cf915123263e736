// INT16 dynamic fixed point (DFP) convolution for training, as in Das et al. 2018 ("Mixed
// Precision Training of Convolutional Neural Networks using Integer Operations"): each tensor
// shares one exponent, int16 x int16 products are summed in int32 (vpdpwssd with VNNI,
// vpmaddwd + vpaddd without), and partial int32 sums are converted to f32 and restarted before
// they can leave int32 (the chain length L is computed from the operands' actual max |q|, as in
// gemm_s16s16f32: L pairs with 2 * L * max|a| * max|b| <= 2^31 - 1).
//
// Layouts: activations and their gradients NHWC f32, or nChw16c (ConvShape::in for x and dx,
// ::out for y and dy: oneDNN's blocked layout, which its f32 batch norm and pools run fastest
// on); weights and their gradient KRSC f32 (oneDNN's "ohwi": out channel, kernel row, kernel
// column, in channel, in-channel fastest); bias K. No groups, no dilation; padding symmetric. Outputs over 8 MB are written with
// non-temporal stores where a 16-float vector is 64-byte aligned (pass 64-byte aligned buffers
// with K, C multiples of 16 for that; other buffers take ordinary stores, same results).
//
// The kernels are implicit GEMMs and read the quantized tensors in place, so quantizing IS
// the packing (one pass from f32 to the int16 layout the kernels read, no im2col):
//  - forward: output pixels x K (reduction R*S*C), the input's int16 NHWC rows (zero-padded
//    by `pad`, channels rounded up to even) read as 32-bit words = channel pairs, broadcast;
//    weights as 32-wide panels of K;
//  - backward-data: input pixels x C (reduction R*S*K), per stride phase (taps r = phase +
//    stride * j: no zero-dilated gradient), the gradient's padded NHWC rows read the same way;
//  - backward-weights: per tap, K x C (reduction over pixel pairs of the batch): the gradient
//    interleaved into pixel pairs per chunk of 128 pixels (L1), the input's two pixel rows
//    interleaved in registers (vpunpck{l,h}wd), no per-tap copy.
// A trainer quantizes x, w and dy once per step (dfp_pack_*) and passes the packs to both
// products that read them; the f32 overloads at the end do both steps for one product. The
// pixel order and segments of forward and backward-data are worked out once per shape (a
// per-thread cache): they depend on nothing else.
// Taps that would read only padding are skipped, not multiplied by zeros: pixels are grouped by
// the taps they reach (at 2x2 with a 3x3 kernel a pixel reaches 4 of 9). Parallel (OpenMP) over
// (pixel tiles x output panels) in forward and backward-data; backward-weights over 128-pixel
// chunks of the batch with per-thread f32 sums, or, where there are too few chunks to share
// (deep layers), over (tap, output-channel block) tasks that each own a slice of dw. Kernels for every IntIsa:
// AVX-512 VNNI (vpdpwssd) and AVX-512BW (vpmaddwd + vpaddd) by intrinsics, AVX2 and scalar as
// plain loops (the AVX2 build auto-vectorized).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "platforms/cpu/lowp/aligned_vector.hpp"
#include "platforms/cpu/lowp/dfp.hpp"
#include "platforms/cpu/lowp/int_gemm.hpp"

namespace paradnn::cpu::lowp {

// f32 activation layouts: NHWC, or oneDNN's nChw16c, channel blocks of 16 outermost after the
// image: element (n, c, y, x) at (((n * C / 16 + c / 16) * H + y) * W + x) * 16 + c % 16
// (C a multiple of 16). The int16 packs the kernels read are NHWC either way.
enum class ActLayout { nhwc, nChw16c };
// The layout a DFP graph keeps an activation of `channels` in: oneDNN's nChw16c where the
// channels fill whole blocks of 16 (batch norm and pools run faster on it), else NHWC.
inline ActLayout preferred_layout(int64_t channels) { return channels % 16 ? ActLayout::nhwc : ActLayout::nChw16c; }

struct ConvShape {
  int n = 1, c = 1, k = 1, h = 1, w = 1, r = 1, s = 1, stride = 1, pad = 0;
  ActLayout in = ActLayout::nhwc, out = ActLayout::nhwc;  // x and dx; y and dy
  int oh() const { return (h + 2 * pad - r) / stride + 1; }
  int ow() const { return (w + 2 * pad - s) / stride + 1; }
  double flops() const { return 2.0 * n * oh() * ow() * k * double(c) * r * s; }  // per pass
  std::string str() const;  // e.g. "conv n32 c64 k64 56x56 3x3 s1 p1"
};

// A DFP activation (x) or output gradient (dy) in the layout the kernels read: int16 NHWC,
// `top`/`left` zero rows/columns before the data (and enough after), channels padded to even.
// Element (n, y, x, c) of the logical tensor (y in [-top, hp - top)) is
// data[((n * hp + y + top) * wp + x + left) * cp + c].
struct DfpActivation {
  std::vector<int16_t> data;
  int exponent = 0;  // value = q * 2^exponent
  int qmax = 0;      // max |q| actually stored (the overflow rule's bound)
  int n = 0, h = 0, w = 0, c = 0;  // logical
  int top = 0, left = 0, hp = 0, wp = 0, cp = 0;
  int16_t at(int ni, int y, int x, int ci) const {
    return data[((size_t(ni) * hp + y + top) * wp + x + left) * cp + ci];
  }
};

// Weights split into high (signed) and low (unsigned) bytes, in AMX B tiles (dfp_conv_amx.hpp):
// for each 16-column block, `chunks` tiles of 16 rows x 64 bytes, row = 4 reduction elements
// of each of the 16 columns; zero past the reduction's end.
struct SplitPanels {
  AlignedVector<int8_t> hi, lo;
  int chunks = 0;
};

// DFP weights: the int16 values (KRSC) and the packed forms the kernels read.
struct DfpConvWeights {
  std::vector<int16_t> q;        // K x R x S x C, as quantized
  AlignedVector<int32_t> fwd, bwd;  // channel-pair words in 16/32-wide panels (see dfp_conv.cpp)
  SplitPanels amx_fwd, amx_bwd;     // AMX tiles (products on amx_int8 that take the shape)
  IntIsa isa = IntIsa::scalar;      // packed for: amx_int8 keeps only the forms its products read
  int exponent = 0, qmax = 0;
  int k = 0, c = 0, r = 0, s = 0;
};

// Quantize-and-pack (one pass after the exponent's max pass). qmax: the magnitude the tensor's
// max is mapped to (activations the full range, weights and gradients 12 bits: dfp.hpp). `out` is reused
// across calls (its buffer is only reallocated when the shape changes). Weights are packed for
// the products of one ISA: amx_int8 (tiles), or any other (the pair words all of them read).
void dfp_pack_input(const ConvShape& s, const float* x, DfpActivation& out, int qmax = kDfpActivationMax);
void dfp_pack_grad_output(const ConvShape& s, const float* dy, DfpActivation& out, int qmax = kDfpGemmMax);
void dfp_pack_weights(const ConvShape& s, const float* w, DfpConvWeights& out, int qmax = kDfpGemmMax,
                      IntIsa isa = detected_int_isa());
// The same from values already in DFP (int16, same layouts, value = q * 2^exponent); |q| <= 32767.
void dfp_pack_input(const ConvShape& s, const int16_t* x, int exponent, DfpActivation& out);
void dfp_pack_grad_output(const ConvShape& s, const int16_t* dy, int exponent, DfpActivation& out);
void dfp_pack_weights(const ConvShape& s, const int16_t* w, int exponent, DfpConvWeights& out, IntIsa isa = detected_int_isa());

// y (N x OH x OW x K, overwritten) = conv(x, w) + bias (bias may be null).
void dfp_conv_forward(const ConvShape& s, const DfpActivation& x, const DfpConvWeights& w, const float* bias, float* y,
                      IntIsa isa);
// dx (N x H x W x C, overwritten) = the transposed convolution of dy with w.
void dfp_conv_backward_data(const ConvShape& s, const DfpActivation& dy, const DfpConvWeights& w, float* dx, IntIsa isa);
// dw (K x R x S x C, overwritten) = sum over the batch and output positions of dy (x) x;
// dbias (K, overwritten; may be null) = sum of dy (from its DFP values: exact, then scaled).
void dfp_conv_backward_weights(const ConvShape& s, const DfpActivation& x, const DfpActivation& dy, float* dw, float* dbias,
                               IntIsa isa);

// f32 in, f32 out: quantizes the operands (kDfpGemmMax) and runs the product.
void dfp_conv_forward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                      IntIsa isa = detected_int_isa());
void dfp_conv_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx, IntIsa isa = detected_int_isa());
void dfp_conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw, float* dbias,
                               IntIsa isa = detected_int_isa());

// The kernels that run this shape's forward (backward: backward-data and backward-weights) on
// `isa`, for result rows: where amx_int8 leaves a product to vpdpwssd, says which.
std::string dfp_conv_kernels(const ConvShape& s, IntIsa isa, bool backward);

// The int32 chain length (in vpdpwssd pairs) the kernels use for operands with these max
// magnitudes: the largest L with 2 * L * qa * qb <= 2^31 - 1 (at least 1, at most `cap`).
int dfp_chain_pairs(int qa, int qb, int cap = 1 << 20);

}  // namespace paradnn::cpu::lowp
