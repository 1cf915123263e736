// Tuning: every workload of a config under each combination of threading knobs, with
// pruning; the best settings per workload against two baselines; rules per family and
// batch range derived from the sweep and checked on held-out workloads.
#pragma once
#include <string>
#include <vector>

#include "paradnn/config.hpp"
#include "runners/drivers/settings_file.hpp"
#include "runners/harness/load_guard.hpp"
#include "runners/harness/timing.hpp"

namespace paradnn {

struct TuneKnobs {
  std::vector<int> intra_threads;  // default 1 .. hardware threads
  std::vector<int> inter_pools;    // default 1, 2, 4 .. while pools x 1 <= hardware threads
  std::vector<Affinity> affinity{Affinity::none, Affinity::close, Affinity::spread};
  int holdout_every = 3;           // every n-th workload is held out to check the rules
  double prune_below = 0.5;        // stop a branch once it falls under this fraction of the best
};
TuneKnobs read_knobs(const Config& c, int hardware_threads);

struct Trial {
  Settings settings;
  Measurement m;
  double examples_per_s = 0, examples_lo = 0, examples_hi = 0;  // from median, p90, p10 times
  bool busy = false;  // other work ran on our CPUs during it, and again when re-measured
};

struct WorkloadResult {
  Point point;
  std::string model_name;
  bool held_out = false;
  std::string skipped;         // reason, when the backend cannot run it
  std::vector<Trial> trials;
  int best = -1, default_baseline = -1, framework_baseline = -1;
  int pruned = 0;              // combinations not measured because their branch fell behind
  const Trial* find(const Settings& s) const;
};

// Derives rules from the workloads that are not held out: per family and batch range, the
// settings with the highest geometric mean of (throughput / that workload's best).
SettingsFile derive_rules(const std::vector<WorkloadResult>& workloads, const std::string& platform);

struct TuneOptions {
  std::string config_path, output, settings_output, report_output, backend = "cpu", filter;
  bool force = false, resume = false, progress = true;
};

struct TuneSummary {
  std::vector<WorkloadResult> workloads;
  SettingsFile rules;
  std::string report;  // Markdown, also written to report_output
  double wall_s = 0;
};

TuneSummary run_tune(const TuneOptions& o);

// Settings the default and framework-style baselines use on this machine.
Settings default_settings(int physical_cores);
Settings framework_settings(int physical_cores, int sockets);
bool same_settings(const Settings& a, const Settings& b);

}  // namespace paradnn
