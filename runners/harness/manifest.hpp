// <output>.manifest.yaml: what a run needs to be understood later: the command, the machine,
// library versions, thread settings, the timing method and the config itself.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "paradnn/config.hpp"
#include "paradnn/platform_file.hpp"
#include "platforms/backend.hpp"

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

void write_manifest(const std::string& path, const ManifestInfo& m, const Config& c);

// What a run on `backend` under `settings` says of itself: command, backend, machine,
// the settings it ran with (threads as the backend resolves them) and the timing method.
ManifestInfo describe_run(const std::string& command, const Backend& backend, const Settings& settings,
                          const RunOptions& run);

// The harness's timing method in words, for the manifest.
std::string timing_method(const RunOptions& run);

}  // namespace paradnn
