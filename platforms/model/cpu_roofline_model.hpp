// The step model (step_model.hpp) on a measured CPU platform file (`paradnn roofline`): the
// same per-op engine with the CPU's measured ceilings as its spec (no tiles, no infeed, no
// software-stack terms), so comparing it with measured CPU rows tests the engine's core on
// hardware we can measure here.
#pragma once
#include <optional>

#include "paradnn/graph.hpp"
#include "paradnn/platform_file.hpp"
#include "platforms/model/device_spec.hpp"

namespace paradnn::model {

struct RooflineCeilings {
  double peak_flops = 0;        // per second, for the graph's dtype
  double bandwidth_bytes = 0;   // DRAM (or HBM) bytes per second
};

// Best compute ceiling for `t` (falls back to f32) and the best DRAM bandwidth, both at the
// thread count nearest `threads` (0 = the most measured). nullopt if the file lacks either.
std::optional<RooflineCeilings> roofline_ceilings(const PlatformFile& f, DType t, int threads);

// The CPU as one device of the step model: matrix and vector work at the measured peak,
// memory at the measured DRAM bandwidth, nothing else.
DeviceSlice cpu_device(const RooflineCeilings& c, DType t, const std::string& label);

// Throws InputError when the platform file has no usable ceilings.
double predict_step_seconds_on_cpu(const Graph& g, Mode m, const PlatformFile& f, int threads = 0);

}  // namespace paradnn::model
