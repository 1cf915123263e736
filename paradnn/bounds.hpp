// Limits on what a config, a filter or a command line may ask for, so a few characters
// cannot demand unbounded work or memory (README "Input bounds"). Each limit is far above
// what a real sweep uses; going over one is bad input (InputError, exit 2) reported before
// anything runs or is written.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace paradnn::bounds {

inline constexpr int64_t kMaxConfigBytes = 1 << 20;      // a config or settings file
inline constexpr int64_t kMaxYamlNodes = 1'000'000;      // nodes visited, aliases counted again
inline constexpr int64_t kMaxGridPoints = 1'000'000;     // per config, before filtering
inline constexpr int64_t kMaxShards = 100'000;           // --shard i/n, slurm --shards
inline constexpr int64_t kMaxHyperparameter = 100'000'000;  // any integer hyperparameter or batch
inline constexpr double kMaxSeconds = 3600;              // run.warmup_s, run.min_time_s
inline constexpr int64_t kMaxRepetitions = 10'000;
inline constexpr int64_t kMaxCalibrationBatches = 10'000;  // calibration.batches, eval_batches
inline constexpr int64_t kMaxThreads = 4'096;            // threads or pools in tune: and settings files
inline constexpr double kMaxParams = 1e13;               // parameters of one model
inline constexpr double kMaxOps = 100'000;               // layers of one model's graph
inline constexpr double kMaxTensorElements = 35e12;      // ~2^45: sums of such stay in int64

// Tighter limits for hyperparameters that multiply the graph's size or its tensors.
inline int64_t max_hyperparameter(std::string_view name) {
  if (name == "layers" || name == "blocks") return 10'000;
  if (name == "branches") return 1'024;
  if (name == "image") return 65'536;
  if (name == "bottleneck") return 1;
  return kMaxHyperparameter;
}

// A generator's check before it builds: std::invalid_argument, which the grid reports
// with the sweep's location.
inline void require_model_size(const std::string& family, double ops, double largest_tensor, double params) {
  auto over = [&](const char* what, double v, double limit) {
    if (!(v <= limit))
      throw std::invalid_argument(
          fmt::format("{}: {} {:.3g} is over the limit {:.3g} (README \"Input bounds\")", family, what, v, limit));
  };
  over("layer count", ops, kMaxOps);
  over("largest tensor's element count", largest_tensor, kMaxTensorElements);
  over("parameter count", params, kMaxParams);
}

}  // namespace paradnn::bounds
