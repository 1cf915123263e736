#include "platforms/tpu/cpu_roofline_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "paradnn/error.hpp"

namespace paradnn::tpu {

namespace {

// The thread count among `counts` nearest to `want` (0 = the largest).
int nearest_threads(const std::vector<int>& counts, int want) {
  int best = counts.front();
  for (int c : counts)
    if (want <= 0 ? c > best : std::abs(c - want) < std::abs(best - want)) best = c;
  return best;
}

std::optional<double> best_compute(const PlatformFile& f, const std::string& dtype, int threads) {
  std::vector<int> counts;
  for (const ComputeCeiling& c : f.compute)
    if (c.dtype == dtype) counts.push_back(c.threads);
  if (counts.empty()) return std::nullopt;
  const int n = nearest_threads(counts, threads);
  double best = 0;
  for (const ComputeCeiling& c : f.compute)
    if (c.dtype == dtype && c.threads == n) best = std::max(best, c.flops_per_s);
  return best > 0 ? std::optional<double>(best) : std::nullopt;
}

std::optional<double> best_bandwidth(const PlatformFile& f, int threads) {
  std::vector<int> counts;
  for (const BandwidthCeiling& b : f.bandwidth)
    if (b.level == "DRAM" || b.level == "HBM") counts.push_back(b.threads);
  if (counts.empty()) return std::nullopt;
  const int n = nearest_threads(counts, threads);
  double best = 0;
  for (const BandwidthCeiling& b : f.bandwidth)
    if ((b.level == "DRAM" || b.level == "HBM") && b.threads == n) best = std::max(best, b.bytes_per_s);
  return best > 0 ? std::optional<double>(best) : std::nullopt;
}

}  // namespace

std::optional<RooflineCeilings> roofline_ceilings(const PlatformFile& f, DType t, int threads) {
  auto peak = best_compute(f, std::string(to_string(t)), threads);
  if (!peak) peak = best_compute(f, "f32", threads);
  const auto bw = best_bandwidth(f, threads);
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

}  // namespace paradnn::tpu
