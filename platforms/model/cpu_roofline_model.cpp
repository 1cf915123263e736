#include "platforms/model/cpu_roofline_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "paradnn/error.hpp"

namespace paradnn::model {

std::optional<RooflineCeilings> roofline_ceilings(const PlatformFile& f, DType t, int threads) {
  auto peak = f.peak_flops(t, threads);
  if (!peak) peak = f.peak_flops(DType::f32, threads);
  const auto bw = f.memory_bandwidth(threads);
  if (!peak || !bw) return std::nullopt;
  return RooflineCeilings{*peak, *bw};
}

double predict_step_seconds_roofline(const Graph& g, Mode m, const RooflineCeilings& c) {
  double s = 0;
  for (const Op& op : g.ops) s += std::max(op.cost.flops(m) / c.peak_flops, op.cost.bytes(m) / c.bandwidth_bytes);
  return s;
}

double predict_step_seconds_on_cpu(const Graph& g, Mode m, const PlatformFile& f, int threads) {
  const auto c = roofline_ceilings(f, g.dtype, threads);
  if (!c) throw InputError("platform file lacks a compute ceiling or a DRAM bandwidth: run `paradnn roofline` again");
  return predict_step_seconds_roofline(g, m, *c);
}

double median_abs_relative_error(std::vector<std::pair<double, double>> pm) {
  std::vector<double> e;
  for (const auto& [p, meas] : pm)
    if (meas > 0) e.push_back(std::abs(p - meas) / meas);
  if (e.empty()) return 0;
  std::sort(e.begin(), e.end());
  const size_t n = e.size();
  return n % 2 ? e[n / 2] : (e[n / 2 - 1] + e[n / 2]) / 2;
}

}  // namespace paradnn::model
