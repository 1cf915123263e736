// The same per-op roofline reasoning as the TPU model, applied to a measured CPU platform
// file (`paradnn roofline`): step = sum over ops of max(FLOPs / peak, bytes / bandwidth).
// It has no padding, fusion or overhead terms, so comparing it with measured CPU rows tests
// the model's core on hardware we can measure here.
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "paradnn/graph.hpp"
#include "paradnn/platform_file.hpp"

namespace paradnn::model {

struct RooflineCeilings {
  double peak_flops = 0;        // per second, for the graph's dtype
  double bandwidth_bytes = 0;   // DRAM (or HBM) bytes per second
};

// Best compute ceiling for `t` (falls back to f32) and the best DRAM bandwidth, both at the
// thread count nearest `threads` (0 = the most measured). nullopt if the file lacks either.
std::optional<RooflineCeilings> roofline_ceilings(const PlatformFile& f, DType t, int threads);

double predict_step_seconds_roofline(const Graph& g, Mode m, const RooflineCeilings& c);

// Throws InputError when the platform file has no usable ceilings.
double predict_step_seconds_on_cpu(const Graph& g, Mode m, const PlatformFile& f, int threads = 0);

// Median of |predicted - measured| / measured over (predicted, measured) pairs; 0 if empty.
double median_abs_relative_error(std::vector<std::pair<double, double>> predicted_measured);

}  // namespace paradnn::model
