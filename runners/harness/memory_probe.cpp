#include "runners/harness/memory_probe.hpp"

#include <malloc.h>

#include <fstream>
#include <string>

namespace paradnn {

namespace {

// A field of /proc/self/status in bytes (the file gives kB).
double status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key) {
    if (key == field + ":") {
      in >> kb;
      return kb * 1024;
    }
    std::getline(in, unit);
  }
  return 0;
}

}  // namespace

PeakMemory::PeakMemory() {
  // Freed heap pages of earlier points stay resident unless returned: without this a point
  // reusing them would measure (almost) nothing above the start.
  malloc_trim(0);
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";  // 5 = reset the peak resident set size (Linux >= 4.0)
  clear.close();
  reset_ = clear.good();
  start_rss_ = status_bytes("VmRSS");
}

std::optional<double> PeakMemory::peak_bytes() const {
  if (!reset_) return std::nullopt;
  return std::max(0.0, status_bytes("VmHWM") - start_rss_);
}

}  // namespace paradnn
