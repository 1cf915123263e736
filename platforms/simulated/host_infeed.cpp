#include "platforms/simulated/host_infeed.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace paradnn::simulated {

uint16_t f32_to_bf16(float x) {
  uint32_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

std::string HostInfeed::describe() const {
  return fmt::format("measured on this host: {:.2f} GB/s ({} threads, {:.0f} MiB bf16 batches, best of {}: "
                     "synthetic generation, f32->bf16 rounding, copy to staging)",
                     bytes_per_s / 1e9, threads, batch_bytes / (1 << 20), repetitions);
}

namespace {

// One thread's slice of the batch: generate in f32, round to bf16, stage.
void stage_chunk(float* scratch, uint16_t* converted, uint16_t* staging, size_t n, uint64_t seed) {
  uint64_t s = seed | 1;
  for (size_t i = 0; i < n; ++i) {  // xorshift64: cheap synthetic data, as a tf.data generator
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    scratch[i] = static_cast<float>(s >> 40) * (1.0f / 16777216.0f) - 0.5f;
  }
  for (size_t i = 0; i < n; ++i) converted[i] = f32_to_bf16(scratch[i]);
  std::memcpy(staging, converted, n * sizeof(uint16_t));
}

}  // namespace

HostInfeed measure_host_infeed(size_t batch_bytes, int threads, int repetitions) {
  HostInfeed r;
  r.threads = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  r.repetitions = std::max(1, repetitions);
  const size_t n = std::max<size_t>(batch_bytes / sizeof(uint16_t), static_cast<size_t>(r.threads));
  r.batch_bytes = static_cast<double>(n * sizeof(uint16_t));
  std::vector<float> scratch(n);
  std::vector<uint16_t> converted(n), staging(n);
  const size_t chunk = (n + static_cast<size_t>(r.threads) - 1) / static_cast<size_t>(r.threads);
  double best = 0;
  for (int rep = 0; rep < r.repetitions; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < r.threads; ++t) {
      const size_t begin = std::min(n, chunk * static_cast<size_t>(t)), len = std::min(chunk, n - begin);
      pool.emplace_back(stage_chunk, scratch.data() + begin, converted.data() + begin, staging.data() + begin, len,
                        0x9e3779b97f4a7c15ull * static_cast<uint64_t>(rep * r.threads + t + 1));
    }
    for (std::thread& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, r.batch_bytes / s);
  }
  // Read the staged data so the pipeline cannot be optimised away.
  volatile uint16_t sink = staging[n / 2];
  (void)sink;
  r.bytes_per_s = best;
  return r;
}

}  // namespace paradnn::simulated
