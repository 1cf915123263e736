// CUDA-event timing for the roofline probes: one untimed warm-up, then `repetitions` timed
// runs of the enqueued work between two events on the default stream; the best rate and
// the spread (best - worst) / best. The host waits only for each run's stop event.
#pragma once
#include <algorithm>

#include "platforms/cuda/cuda_check.hpp"

namespace paradnn::cuda {

struct Rate {
  double per_s = 0;   // FLOP/s or bytes/s, best repetition
  double spread = 0;  // (best - worst) / best
};

template <typename F>
Rate best_of(int repetitions, double work_units, F&& work) {
  cudaEvent_t start, stop;
  PARADNN_CUDA(cudaEventCreate(&start));
  PARADNN_CUDA(cudaEventCreate(&stop));
  work();
  PARADNN_CUDA(cudaDeviceSynchronize());
  double best = 0, worst = 0;
  for (int r = 0; r < std::max(repetitions, 1); ++r) {
    PARADNN_CUDA(cudaEventRecord(start));
    work();
    PARADNN_CUDA(cudaEventRecord(stop));
    PARADNN_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    PARADNN_CUDA(cudaEventElapsedTime(&ms, start, stop));
    const double rate = work_units / (ms * 1e-3);
    best = r == 0 ? rate : std::max(best, rate);
    worst = r == 0 ? rate : std::min(worst, rate);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return Rate{best, best > 0 ? (best - worst) / best : 0};
}

inline int sm_count() {
  cudaDeviceProp p{};
  PARADNN_CUDA(cudaGetDeviceProperties(&p, 0));
  return p.multiProcessorCount;
}

}  // namespace paradnn::cuda
