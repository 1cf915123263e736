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
  std::map<std::string, analysis::Ceiling> compute, bandwidth;
  const int ct = threads_near(file.compute, threads), bt = threads_near(file.bandwidth, threads);
  for (const ComputeCeiling& c : file.compute)
    if (c.threads == ct && c.flops_per_s > compute[c.dtype].value) compute[c.dtype] = {"compute", c.dtype, c.flops_per_s, ct};
  for (const BandwidthCeiling& b : file.bandwidth)
    if (b.threads == bt && b.bytes_per_s > bandwidth[b.level].value)
      bandwidth[b.level] = {"bandwidth", b.level, b.bytes_per_s, bt};
  std::vector<analysis::Ceiling> out;
  for (const auto* roofs : {&compute, &bandwidth})
    for (const auto& [name, c] : *roofs)
      if (!c.kind.empty()) out.push_back(c);  // a zero measurement leaves no roof
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
