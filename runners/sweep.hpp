// Sweep orchestration: config -> grid -> for each point: graph, backend, timing, CSV row.
// Rows are flushed as each point ends; a failing point becomes a row with its reason;
// Ctrl-C stops after the point in flight; --resume runs only points not yet in the file.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "paradnn/grid.hpp"
#include "platforms/platform_file.hpp"

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
  bool progress = true;        // progress bar on a terminal
  bool ceilings = true;        // fill peak/utilization/bound from the platform file
  bool max_batch = false;      // replace each point's batch by the largest that fits the budget
  std::string memory_budget;   // e.g. 20GiB; default memory_fraction of available memory
  std::string command_line;    // for the manifest
};

struct SweepSummary {
  int ok = 0, failed = 0, skipped = 0, already_done = 0;
  double wall_s = 0, timed_s = 0;
  std::string output, ops_output, manifest;
  bool interrupted = false;
};

SweepSummary run_sweep(const SweepOptions& options);

// The points a sweep would run, after --filter and --shard.
std::vector<GridEntry> select_points(const Config& config, const std::string& filter, const std::string& shard);

// Deterministic split of points over n shards balanced by estimated cost (largest first
// onto the least-loaded shard). Returns the points of shard i (1-based).
std::vector<GridEntry> shard_points(const std::vector<GridEntry>& points, int i, int n);

// Seconds a point is expected to take (warm-up, repetitions, preparation) at `flops_per_s`.
double estimated_point_seconds(const GridEntry& e, const RunOptions& run, double flops_per_s);

}  // namespace paradnn
