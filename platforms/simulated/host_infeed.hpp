// The host half of a TPU step, measured for real on this machine: what the TPU host does
// for every batch before it crosses PCIe (generate a synthetic batch, round it to bf16, copy
// it into a staging buffer). Used as the infeed ceiling with --tpu-host this.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace paradnn::simulated {

// Round-to-nearest-even f32 -> bf16, NaN kept quiet: what XLA's convert does.
uint16_t f32_to_bf16(float x);

struct HostInfeed {
  double bytes_per_s = 0;  // bf16 bytes staged per second, best of the repetitions
  int threads = 0;
  double batch_bytes = 0;  // bf16 bytes per repetition
  int repetitions = 0;
  std::string describe() const;  // one line for the run manifest
};

// Runs the pipeline on `threads` threads (0 = all hardware threads) over batches of
// `batch_bytes` bf16 bytes, `repetitions` times.
HostInfeed measure_host_infeed(size_t batch_bytes = size_t{32} << 20, int threads = 0, int repetitions = 3);

}  // namespace paradnn::simulated
