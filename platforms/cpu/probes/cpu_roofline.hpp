// The CPU's measured roofline (`paradnn roofline`): peak FLOP/s per dtype from hand-written
// kernels and from oneDNN's best large GEMM, and bandwidth of L1, L2, L3 and DRAM from a
// working-set sweep, at 1 thread and at all physical cores, each the best of several
// repetitions with its spread.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "paradnn/platform_file.hpp"

namespace paradnn::cpu {

struct RooflineOptions {
  bool quick = false;        // fewer sizes and repetitions, smaller GEMM: a few seconds
  std::vector<int> threads;  // thread counts to measure; empty = 1 and all physical cores
  // Called with one line per figure measured (progress for the user); may be empty.
  std::function<void(const std::string&)> progress;
};

PlatformFile probe_cpu_roofline(const RooflineOptions& options = {});

// results/platform-<CPU model, letters and digits joined by '-'>.yaml
std::string default_platform_file_path();

// Loads the platform file at `path_or_empty` (empty: the default path); where there is none,
// or the default one was measured under another ISA, probes once and saves it there.
PlatformFile load_or_probe_platform(const std::string& path_or_empty);

}  // namespace paradnn::cpu
