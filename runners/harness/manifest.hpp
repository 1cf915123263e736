// <output>.manifest.yaml: what the runs that wrote an output need to be understood later.
// A YAML document with a `runs:` list (one entry per run: a first run, then one per
// --resume), each with its run_id, start and end, command, machine, library versions, thread
// settings, the timing method, load averages and the config itself; each row's run_id names
// its entry.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "paradnn/config.hpp"
#include "paradnn/platform_file.hpp"
#include "platforms/backend.hpp"
#include "runners/harness/load_guard.hpp"

namespace paradnn {

struct ManifestInfo {
  std::string run_id, command, backend;
  bool simulated = false;
  size_t points = 0;
  PlatformInfo machine;
  std::vector<std::pair<std::string, std::string>> settings;  // in the order written
  std::string method;                                         // how times were taken
  std::string ceilings;                                       // where peak columns come from
};

// Adds this run's entry to the manifest at `path`: after the runs already there when
// `append` (--resume; a single-run manifest of an earlier paradnn becomes the first entry),
// else as the only one. Written atomically.
void write_manifest(const std::string& path, const ManifestInfo& m, const Config& c, bool append = false);

// Records the end of run `run_id` in the manifest: ended_utc, the load averages and the load
// before and after each measurement (the busy-machine guard's records).
void end_manifest_run(const std::string& path, const std::string& run_id, const std::vector<LoadRecord>& loads = {});

// What a run on `backend` under `settings` says of itself: command, backend, machine,
// the settings it ran with (threads as the backend resolves them) and the timing method.
ManifestInfo describe_run(const std::string& command, const Backend& backend, const Settings& settings,
                          const RunOptions& run);

// The harness's timing method in words, for the manifest.
std::string timing_method(const RunOptions& run);

}  // namespace paradnn
