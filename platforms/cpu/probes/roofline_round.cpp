#include "platforms/cpu/probes/roofline_round.hpp"

#include <algorithm>

namespace paradnn::cpu {

float opaque_f32(float v) {
  volatile float x = v;
  return x;
}

int32_t opaque_i32(int32_t v) {
  volatile int32_t x = v;
  return x;
}

KernelOutcome run_rounds(int64_t steps, const RoundShape& s, RoundFn round) {
  KernelOutcome out;
  const double start_sum = s.start_step * s.accumulators * (s.accumulators - 1) / 2.0;
  for (int64_t done = 0; done < steps;) {
    const int64_t n = std::min(kStepsPerRound, steps - done);
    out.result += round(n);
    // Every lane of accumulator k ends at k * start_step + n * lane_delta (exact in f32/i32).
    out.expected += s.lanes * (start_sum + static_cast<double>(s.accumulators) * static_cast<double>(n) * s.lane_delta);
    done += n;
  }
  out.ops = static_cast<double>(steps) * s.ops_per_step;
  return out;
}

}  // namespace paradnn::cpu
