// `paradnn model-error --published CSV --backend B`: a performance model (tpu:..., gpu-model:...)
// against measurements someone published (ParaDnn's TPU v2-8 and V100 FC data, see
// ../shared/calibration): every published point is rebuilt as a paradnn FC graph, predicted,
// and written as a row beside the published examples/s; the summary gives the median and 90th
// percentile of |predicted - measured| / measured overall, per bound class and per
// hyperparameter value (as ParaDnn's sensitivity plots), and a predicted-vs-measured plot.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace paradnn {

struct PublishedErrorOptions {
  std::string published;  // CSV: platform, layers, nodes, input, output, batch, params, examples_per_s
  std::string backend;    // a simulated backend: tpu:v2-8, gpu-model:v100, ...
  std::string rows;       // which `platform` rows to take; empty: the one the backend names
  std::string dtype;      // empty: bf16 where the row's platform says so, else f16 on GPUs, bf16 on TPUs
  std::string optimizer = "rmsprop";  // ParaDnn's
  std::string output, filter;
  bool resume = false, force = false, plot = true;
};

struct ErrorStats {
  size_t points = 0;
  double median = 0, p90 = 0;  // of |predicted / measured - 1|
  double median_ratio = 0;     // of predicted / measured: > 1 is optimistic
};
ErrorStats error_stats(const std::vector<double>& ratios);

struct PublishedErrorSummary {
  std::string output, plot, rows, dtype;
  ErrorStats all;
  std::map<std::string, ErrorStats> by_bound;
  std::map<std::string, std::map<int64_t, ErrorStats>> by_hyperparameter;  // layers, nodes, ...
  size_t refused = 0;               // published points the model would not run (memory, dtype)
  std::vector<std::string> reasons; // one line per refused point, first few
  std::string plot_message;         // why no plot, when none
};

PublishedErrorSummary run_published_error(const PublishedErrorOptions& o);

// The platform label of published rows a backend stands for: tpu:v2-8 -> "tpu-v2-8",
// gpu-model:v100 -> "v100" (rows match when their platform starts with it).
std::string published_label(const std::string& backend);

}  // namespace paradnn
