// `paradnn scale`: the data-parallel scaling model (platforms/model/scaling_model.hpp) fed
// with this machine's measured single-node step per point (per-op forward, backward and update
// times from Executable::profile, and the gradients each backward op completes), or with
// analytic op times at a given attained FLOP/s per node. Rows are predictions
// (source=simulated), one per point, node count, algorithm and overlap.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace paradnn {

struct ScaleOptions {
  std::string config_path, filter, output, network = "100Gbit/s,2us", scaling = "weak", platform;
  std::vector<int> nodes{2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  double bucket_mb = 2, node_flops = 0;
  int iterations = 5;
  bool force = false, resume = false;
  std::function<void(const std::string&)> say;  // one line of the printed table at a time
};

// Returns the output path.
std::string run_scale(const ScaleOptions& o);

}  // namespace paradnn
