#include "runners/harness/host_facts.hpp"

#include <fmt/core.h>
#include <link.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

// Weak: the harness does not link OpenMP itself; the backend that does brings the runtime.
extern "C" int omp_get_max_threads() __attribute__((weak));

namespace paradnn {

namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The value of the first "key : value" line of /proc/cpuinfo with this key.
std::string cpuinfo(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0)
      if (const auto colon = line.find(':'); colon != std::string::npos) {
        const auto start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
  return "";
}

// The OpenMP runtime loaded into this process (libgomp, libiomp5, libomp), by file name.
std::string openmp_library() {
  std::string found;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        const std::string name = info->dlpi_name ? info->dlpi_name : "";
        for (const char* lib : {"libgomp", "libiomp", "libomp"})
          if (name.find(lib) != std::string::npos) {
            *static_cast<std::string*>(out) = name.substr(name.rfind('/') + 1);
            return 1;
          }
        return 0;
      },
      &found);
  return found;
}

}  // namespace

std::string paradnn_version() { return PARADNN_VERSION; }
std::string paradnn_commit() { return PARADNN_COMMIT; }

std::string load_average() {
  std::istringstream in(first_line("/proc/loadavg"));
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "";
  return a + " " + b + " " + c;
}

std::vector<std::pair<std::string, std::string>> host_facts() {
  std::vector<std::pair<std::string, std::string>> f;
  const auto add = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) f.emplace_back(k, v);
  };
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) add("hostname", host);
  if (utsname u{}; uname(&u) == 0) add("kernel", fmt::format("{} {} {} {}", u.sysname, u.release, u.version, u.machine));
  add("microcode", cpuinfo("microcode"));
  add("openmp_runtime", openmp_library());
  if (omp_get_max_threads) add("openmp_max_threads", std::to_string(omp_get_max_threads()));
  const std::string cpufreq = "/sys/devices/system/cpu/cpu0/cpufreq/";
  add("scaling_governor", first_line(cpufreq + "scaling_governor"));
  if (const std::string khz = first_line(cpufreq + "scaling_cur_freq"); !khz.empty()) add("cpu0_frequency_khz", khz);
  return f;
}

}  // namespace paradnn
