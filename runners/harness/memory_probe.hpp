// Measured memory of a grid point: the process's resident high-water mark while the point
// ran, above what was resident before it (Linux: VmHWM, reset through /proc/self/clear_refs).
#pragma once
#include <optional>

namespace paradnn {

class PeakMemory {
 public:
  PeakMemory();  // resets the high-water mark and records the resident set now
  // Peak resident bytes since construction above the starting resident set; nullopt where
  // the kernel does not let the mark be reset (the figure would include earlier points).
  std::optional<double> peak_bytes() const;

 private:
  double start_rss_ = 0;
  bool reset_ = false;
};

}  // namespace paradnn
