// The sweep driver (`paradnn run`): for each point of the point loop, its graph, the
// backend's verdict and preparation, timing by the backend's clock, and one result row
// placed on the platform's ceilings.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "runners/harness/point_loop.hpp"

namespace paradnn {

struct SweepOptions {
  std::string config_path;
  std::string output;          // default results/<config name>.csv
  std::string backend = "cpu";
  std::string tpu_host = "spec";  // tpu backends: "this" measures this machine's infeed
  std::string filter;          // --filter expression
  std::string shard;           // "i/n" (1-based i) or empty
  std::string platform_file;   // ceilings; empty = the backend's default (probe cached once)
  int threads = 0;             // intra-op threads, 0 = all physical cores
  int pools = 1;               // inter-op pools (concurrent model instances)
  std::string affinity = "none";
  std::string settings_file;   // recommended settings from `paradnn tune`, per family and batch
  bool resume = false, force = false, per_op = false;
  bool json = false;           // also <output stem>.json (implied by -o X.json: rows then go to X.csv)
  bool progress = true;        // progress bar on a terminal
  bool ceilings = true;        // fill peak/utilization/bound from the platform file
  bool max_batch = false;      // replace each point's batch by the largest that fits the budget
  std::string memory_budget;   // e.g. 20GiB; default memory_fraction of available memory
  std::string command_line;    // for the manifest
};

// The point loop's counts, and what a sweep adds to them.
struct SweepSummary : LoopSummary {
  double timed_s = 0;  // inside timed regions
  std::string output, ops_output, reps_output, manifest;
  std::string json_output;  // empty unless asked for
};

SweepSummary run_sweep(const SweepOptions& options);

}  // namespace paradnn
