#include "platforms/model/matrix_unit.hpp"

#include <algorithm>

namespace paradnn::model {

int64_t round_up(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }

int64_t sublane_tile(DType t) {
  // 8 sublanes of 32 bits; narrower types pack 2 or 4 rows into each.
  return 8 * (4 / size_of(t));
}

namespace {

PaddedGemm pad_for_mxu(const Gemm& g, DType t, int mxu_size) {
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

PaddedGemm pad_for_waves(const Gemm& g, int tile, int sms) {
  PaddedGemm p;
  p.m = round_up(std::max<int64_t>(g.m, 1), tile);
  p.n = round_up(std::max<int64_t>(g.n, 1), tile);
  p.k = round_up(std::max<int64_t>(g.k, 1), 8);  // tensor-core k step
  p.count = g.count;
  const int64_t tiles = p.m / tile * (p.n / tile) * p.count;
  p.waves = (tiles + sms - 1) / sms;
  p.useful_flops = g.flops();
  p.issued_flops = 2.0 * double(p.waves) * sms * double(tile) * double(tile) * double(p.k);
  return p;
}

// A CPU's measured peak already is what its GEMM kernels reach on large shapes: no tiles.
PaddedGemm unpadded(const Gemm& g) {
  PaddedGemm p;
  p.m = g.m;
  p.k = g.k;
  p.n = g.n;
  p.count = g.count;
  p.useful_flops = p.issued_flops = g.flops();
  return p;
}

}  // namespace

PaddedGemm pad_gemm(const Gemm& g, DType t, const DeviceSpec& spec) {
  switch (spec.kind) {
    case DeviceKind::gpu: return pad_for_waves(g, spec.gemm_tile, spec.sms);
    case DeviceKind::tpu: return pad_for_mxu(g, t, spec.mxu_size);
    case DeviceKind::cpu: break;
  }
  return unpadded(g);
}

double matrix_peak(DType t, const DeviceSpec& spec) {
  const double p = spec.matrix_peak_per_core(t);
  return p > 0 ? p : spec.matrix_peak_per_core(DType::f32);
}

double matrix_seconds(const Gemm& g, DType t, const DeviceSpec& spec) {
  if (g.m <= 0 || g.k <= 0 || g.n <= 0 || g.count <= 0) return 0;
  return pad_gemm(g, t, spec).issued_flops / (matrix_peak(t, spec) * spec.stack.matrix_efficiency);
}

}  // namespace paradnn::model
