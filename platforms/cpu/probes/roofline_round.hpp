// Shared by the compute kernels: one "round" runs `steps` steps from known accumulator values
// and returns the sum of every lane, which the driver compares with the closed form.
#pragma once
#include <cstdint>

#include "platforms/cpu/probes/roofline_kernels.hpp"

namespace paradnn::cpu {

struct RoundShape {
  int accumulators = 0;   // independent chains (latency x ports, with headroom)
  int lanes = 0;          // 32-bit lanes per register
  double start_step = 0;  // accumulator k starts at k * start_step in every lane
  double lane_delta = 0;  // what one instruction adds to each lane
  double ops_per_step = 0;
};

using RoundFn = double (*)(int64_t steps);

// Runs `steps` as rounds of at most kStepsPerRound and adds up the closed form of each.
KernelOutcome run_rounds(int64_t steps, const RoundShape& shape, RoundFn round);

// Values the compiler cannot see, so it cannot fold or hoist the multiply-add chains.
float opaque_f32(float v);
int32_t opaque_i32(int32_t v);

}  // namespace paradnn::cpu
