#include "platforms/backend.hpp"

#include <limits>
#include <stdexcept>

#include "paradnn/error.hpp"

namespace paradnn {

std::string_view to_string(Affinity a) {
  switch (a) {
    case Affinity::none: return "none";
    case Affinity::close: return "close";
    case Affinity::spread: return "spread";
  }
  return "?";
}

Affinity parse_affinity(std::string_view s) {
  for (Affinity a : {Affinity::none, Affinity::close, Affinity::spread})
    if (to_string(a) == s) return a;
  throw InputError("unknown affinity '" + std::string(s) + "' (expected none, close or spread)");
}

std::string_view to_string(Phase p) {
  switch (p) {
    case Phase::fwd: return "fwd";
    case Phase::bwd: return "bwd";
    case Phase::update: return "update";
    case Phase::reorder: return "reorder";
    case Phase::comm: return "comm";
    case Phase::infeed: return "infeed";
    case Phase::overhead: return "overhead";
  }
  return "?";
}

double Executable::step_seconds() {
  throw std::logic_error("step_seconds() of an executable timed on the host's clock: time step() instead");
}

double Executable::loss() const { return std::numeric_limits<double>::quiet_NaN(); }

std::vector<OpTime> Executable::profile(int) { return {}; }

std::optional<PlatformFile> Backend::ceilings(const std::string& path) const {
  if (!path.empty()) return load_platform_file(path);
  return std::nullopt;
}

PlatformFile Backend::measure_ceilings(const ProbeOptions&) {
  throw Unsupported("the " + name() + " backend measures no ceilings");
}

std::unique_ptr<DataParallelExecutable> Backend::prepare_data_parallel(const Graph&, const Settings&,
                                                                       const DataParallelOptions&) {
  throw Unsupported("data-parallel training is not built for the " + name() + " backend");
}

}  // namespace paradnn
