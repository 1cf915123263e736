// Matrix-unit arithmetic: how a GEMM is laid onto a device's matrix unit, and what it costs.
// These are the lowering rules that tell a TPU from a GPU; the rest of the engine is shared.
//
// TPU (XLA): memory is tiled (Cloud TPU performance guide: tiles of 8 x 128): the minor
// dimension in lanes of 128 (the MXU width, 256 on v6e), the second-minor in sublanes of 8
// 32-bit rows, which hold 16 rows of a 16-bit or 32 of an 8-bit type. A GEMM C[m,n] = A[m,k]
// B[k,n] therefore runs as if k and n were rounded up to the MXU size and m to the sublane
// tile. The MXU is weight-stationary (Jouppi et al. ISCA 2017): each (k, n) weight tile takes
// about mxu_size cycles to load, overlapped with streaming the previous tile's rows, so a
// tile costs max(m_padded, mxu_size) row-cycles: small batches waste the MXU.
//
// GPU (cuBLAS): C is cut into gemm_tile x gemm_tile output tiles, each computed by one SM;
// the tiles run in waves of `sms` (Habitat's "wave scaling", Yu et al. ATC 2021), so a GEMM
// costs whole waves: 81 tiles on 80 SMs take two.
//
// CPU (a measured platform file): no tiles; the measured peak is what its GEMMs reach.
#pragma once
#include <cstdint>

#include "paradnn/dtype.hpp"
#include "platforms/model/device_spec.hpp"

namespace paradnn::model {

int64_t round_up(int64_t x, int64_t multiple);
int64_t sublane_tile(DType t);  // 8 for 32-bit, 16 for 16-bit, 32 for 8-bit types

struct Gemm {
  int64_t m = 0, k = 0, n = 0;
  int64_t count = 1;  // independent GEMMs of this shape (groups, batched matmul)
  double flops() const { return 2.0 * double(m) * double(k) * double(n) * double(count); }
};

struct PaddedGemm {
  int64_t m = 0, k = 0, n = 0, count = 1;  // dims as laid out in tiles
  int64_t streamed_rows = 0;               // TPU: max(m, mxu_size), the weight-load floor
  int64_t waves = 0;                       // GPU: rounds of output tiles over the SMs
  double useful_flops = 0;
  double issued_flops = 0;  // what the matrix unit spends: padding, weight loads, idle SMs
  double efficiency() const { return issued_flops > 0 ? useful_flops / issued_flops : 0; }
};

PaddedGemm pad_gemm(const Gemm& g, DType t, const DeviceSpec& spec);

// The dtype the matrix unit computes `t` in: TPU f32 runs as bf16 passes; a GPU without a
// tensor-core mode for `t` runs it on CUDA cores (the f32 rate).
double matrix_peak(DType t, const DeviceSpec& spec);

// Seconds on one core: issued FLOPs at the peak times the stack's achieved fraction.
double matrix_seconds(const Gemm& g, DType t, const DeviceSpec& spec);

}  // namespace paradnn::model
