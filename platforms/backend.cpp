#include "platforms/backend.hpp"

#include <limits>

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

double Executable::loss() const { return std::numeric_limits<double>::quiet_NaN(); }

std::vector<OpTime> Executable::profile(int) { return {}; }

}  // namespace paradnn
