// Timing for the roofline probe: work run on a team of OpenMP threads started together,
// and the best of several repetitions with its spread (as ERT and STREAM report).
#pragma once
#include <functional>

namespace paradnn::cpu {

struct Rate {
  double per_s = 0;   // best repetition: FLOP/s, ops/s or bytes/s
  double spread = 0;  // (best - worst) / best over the repetitions
};

// Runs work(thread) on `threads` OpenMP threads between two barriers and returns the summed
// amounts the calls return (FLOPs, bytes) per second of the slowest thread's span.
double parallel_rate(int threads, const std::function<double(int thread)>& work);

// Calls rate() `repetitions` times; the best with its spread.
Rate best_of(int repetitions, const std::function<double()>& rate);

double seconds_since_epoch();  // steady clock, for measuring short spans

}  // namespace paradnn::cpu
