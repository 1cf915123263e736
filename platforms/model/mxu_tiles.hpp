// Matrix-unit arithmetic: how XLA pads a GEMM onto the TPU's tiles, and what it costs.
//
// TPU memory is tiled (Cloud TPU performance guide: tiles of 8 x 128): the minor dimension in
// lanes of 128 (the MXU width, 256 on v6e), the second-minor in sublanes of 8 32-bit rows,
// which hold 16 rows of a 16-bit or 32 of an 8-bit type. A GEMM C[m,n] = A[m,k] B[k,n]
// therefore runs as if k and n were rounded up to the MXU size and m to the sublane tile.
// The MXU is weight-stationary (Jouppi et al. ISCA 2017): each (k, n) weight tile takes about
// mxu_size cycles to load, overlapped with streaming the previous tile's rows, so a tile
// costs max(m_padded, mxu_size) row-cycles: small batches waste the MXU even when m is a
// multiple of the sublane tile.
#pragma once
#include <cstdint>

#include "paradnn/dtype.hpp"
#include "platforms/model/tpu_spec.hpp"

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
  int64_t streamed_rows = 0;               // max(m, mxu_size): the weight-load floor
  double useful_flops = 0;
  double issued_flops = 0;  // what the MXU spends, padding and weight loads included
  double efficiency() const { return issued_flops > 0 ? useful_flops / issued_flops : 0; }
};

PaddedGemm pad_gemm(const Gemm& g, DType t, int mxu_size);

// Seconds on one TensorCore at the spec's peak (int8 rate for int8, bf16 rate otherwise:
// f32 matmuls run as one bf16 pass, XLA's default precision on TPU).
double mxu_seconds(const Gemm& g, DType t, const TpuSpec& spec);

}  // namespace paradnn::model
