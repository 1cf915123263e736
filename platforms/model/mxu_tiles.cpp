#include "platforms/model/mxu_tiles.hpp"

#include <algorithm>

namespace paradnn::model {

int64_t round_up(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }

int64_t sublane_tile(DType t) {
  // 8 sublanes of 32 bits; narrower types pack 2 or 4 rows into each.
  return 8 * (4 / size_of(t));
}

PaddedGemm pad_gemm(const Gemm& g, DType t, int mxu_size) {
  PaddedGemm p;
  p.m = round_up(std::max<int64_t>(g.m, 1), sublane_tile(t));
  p.k = round_up(std::max<int64_t>(g.k, 1), mxu_size);
  p.n = round_up(std::max<int64_t>(g.n, 1), mxu_size);
  p.count = g.count;
  p.streamed_rows = std::max<int64_t>(p.m, mxu_size);
  p.useful_flops = g.flops();
  p.issued_flops = 2.0 * double(p.streamed_rows) * double(p.k) * double(p.n) * double(p.count);
  return p;
}

double mxu_seconds(const Gemm& g, DType t, const TpuSpec& spec) {
  if (g.m <= 0 || g.k <= 0 || g.n <= 0 || g.count <= 0) return 0;
  const bool int8 = t == DType::int8 && spec.peak_int8_ops_per_chip > 0;
  return pad_gemm(g, t, spec.mxu_size).issued_flops / spec.peak_per_core(int8);
}

}  // namespace paradnn::model
