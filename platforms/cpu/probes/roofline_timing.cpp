#include "platforms/cpu/probes/roofline_timing.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

namespace paradnn::cpu {

double seconds_since_epoch() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double parallel_rate(int threads, const std::function<double(int)>& work) {
  double amount = 0, t0 = 0, t1 = 0;
  std::string error;
#pragma omp parallel num_threads(threads) reduction(+ : amount)
  {
    if (omp_get_num_threads() != threads) {
#pragma omp critical
      error = "asked for " + std::to_string(threads) + " OpenMP threads, got " + std::to_string(omp_get_num_threads());
    }
    // The span starts when every thread is ready and ends when the last one is done.
#pragma omp barrier
#pragma omp master
    t0 = seconds_since_epoch();
    try {
      amount += work(omp_get_thread_num());
    } catch (const std::exception& e) {
#pragma omp critical
      error = e.what();
    }
#pragma omp barrier
#pragma omp master
    t1 = seconds_since_epoch();
  }
  if (!error.empty()) throw std::runtime_error(error);
  return amount / std::max(t1 - t0, 1e-9);
}

Rate best_of(int repetitions, const std::function<double()>& rate) {
  double best = 0, worst = 0;
  for (int r = 0; r < std::max(1, repetitions); ++r) {
    const double v = rate();
    best = r == 0 ? v : std::max(best, v);
    worst = r == 0 ? v : std::min(worst, v);
  }
  return {best, best > 0 ? (best - worst) / best : 0};
}

}  // namespace paradnn::cpu
