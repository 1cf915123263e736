// The roofline ceilings a report draws, taken from a platform file (`paradnn roofline`).
#pragma once
#include <string>
#include <vector>

#include "analysis/report.hpp"
#include "paradnn/platform_file.hpp"

namespace paradnn {

// The best compute ceiling per dtype and method (fma_kernel, library_gemm) and the best
// bandwidth per level, all levels from one kernel (the one measured at the most levels, `read`
// on a tie), each at the measured thread count nearest `threads` (0 = the most threads measured).
std::vector<analysis::Ceiling> ceilings_at(const PlatformFile& file, int threads);

// Ceilings a report draws for a results table: from `path` where given; else from this CPU's default platform
// file where it exists and was measured on the device the rows name. Thread count: the one most
// rows ran with.
analysis::CeilingSource report_ceilings(const std::string& path);

}  // namespace paradnn
