#include "runners/drivers/roofline_ceilings.hpp"

#include <fmt/core.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "analysis/workload.hpp"
#include "platforms/registry.hpp"

namespace paradnn {

namespace {

template <typename Ceiling>
int threads_near(const std::vector<Ceiling>& all, int threads) {
  std::vector<int> counts;
  for (const Ceiling& c : all) counts.push_back(c.threads);
  return counts.empty() ? 0 : nearest_threads(counts, threads);
}

std::string most_common_device(const CsvTable& t) {
  std::map<std::string, int> votes;
  for (const Row& r : t.rows) ++votes[analysis::field(r, "device_name")];
  std::string best;
  for (const auto& [device, n] : votes)
    if (best.empty() || n > votes[best]) best = device;
  return best;
}

}  // namespace

std::vector<analysis::Ceiling> ceilings_at(const PlatformFile& file, int threads) {
  // Compute: the best per dtype and method, so the FMA-kernel peak and the library GEMM both show.
  std::map<std::pair<std::string, std::string>, analysis::Ceiling> compute;
  std::map<std::string, analysis::Ceiling> bandwidth;
  const int ct = threads_near(file.compute, threads), bt = threads_near(file.bandwidth, threads);
  for (const ComputeCeiling& c : file.compute)
    if (c.threads == ct && c.flops_per_s > compute[{c.dtype, c.method}].value)
      compute[{c.dtype, c.method}] = {"compute", c.dtype, c.flops_per_s, ct, c.method};
  // Bandwidth: one kernel for every level (the one measured at the most levels, read on a tie),
  // so the memory roofs are comparable.
  std::map<std::string, std::set<std::string>> levels_of;
  for (const BandwidthCeiling& b : file.bandwidth)
    if (b.threads == bt && b.bytes_per_s > 0) levels_of[b.kernel].insert(b.level);
  std::string kernel;
  for (const auto& [k, levels] : levels_of)
    if (kernel.empty() || levels.size() > levels_of[kernel].size() ||
        (levels.size() == levels_of[kernel].size() && k == "read"))
      kernel = k;
  for (const BandwidthCeiling& b : file.bandwidth)
    if (b.threads == bt && b.kernel == kernel && b.bytes_per_s > bandwidth[b.level].value)
      bandwidth[b.level] = {"bandwidth", b.level, b.bytes_per_s, bt, b.kernel};
  std::vector<analysis::Ceiling> out;
  for (const auto& [key, c] : compute)
    if (!c.kind.empty()) out.push_back(c);  // a zero measurement leaves no roof
  for (const auto& [name, c] : bandwidth)
    if (!c.kind.empty()) out.push_back(c);
  return out;
}

analysis::CeilingSource report_ceilings(const std::string& path) {
  return [path](const CsvTable& results) -> std::pair<std::vector<analysis::Ceiling>, std::string> {
    const std::string file = path.empty() ? platform_file_path(make_backend("cpu")->platform().device_name) : path;
    if (!std::filesystem::exists(file))
      return {{}, fmt::format("none: no platform file {} (run `paradnn roofline`, or pass --platform)", file)};
    const PlatformFile f = load_platform_file(file);
    const std::string device = most_common_device(results);
    if (path.empty() && device != f.machine.device_name)
      return {{}, fmt::format("none: {} was measured on {}, the rows ran on {} (pass --platform)", file,
                              f.machine.device_name, device)};
    const int threads = analysis::typical_threads(results);
    std::vector<analysis::Ceiling> ceilings = ceilings_at(f, threads);
    const int at = ceilings.empty() ? 0 : ceilings.front().threads;
    return {ceilings, fmt::format("{} at {} thread{} (most rows ran with {})", file, at, at == 1 ? "" : "s", threads)};
  };
}

}  // namespace paradnn
