// Facts about the machine a run is on that a reader of its results needs and the backend
// does not report: host, kernel, microcode, OpenMP runtime, frequency policy, load.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace paradnn {

// name -> value, in the order written; a fact that cannot be read here is left out.
std::vector<std::pair<std::string, std::string>> host_facts();

// The 1, 5 and 15 minute load averages from /proc/loadavg ("0.52 0.40 0.31"), or "".
std::string load_average();

// The paradnn version and the git commit it was built from ("abc1234", "abc1234-dirty",
// "unknown" outside a checkout).
std::string paradnn_version();
std::string paradnn_commit();

}  // namespace paradnn
