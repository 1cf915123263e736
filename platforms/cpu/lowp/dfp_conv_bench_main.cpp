// Standalone runner for the DFP convolution rows (dfp_conv_bench.hpp) without the rest of
// `paradnn lowp`: `paradnn_dfp_conv_bench [--quick]`. Median of per-call times after a warm-up.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "platforms/cpu/lowp/dfp_conv_bench.hpp"

int main(int argc, char** argv) {
  using namespace paradnn::cpu::lowp;
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const LowpTimer timer = [quick](const std::string&, const std::function<void()>& work) {
    using clock = std::chrono::steady_clock;
    work();  // warm-up
    std::vector<double> t;
    const auto start = clock::now();
    while (t.size() < 3 || (std::chrono::duration<double>(clock::now() - start).count() < (quick ? 0.3 : 1.0) && t.size() < 50)) {
      const auto a = clock::now();
      work();
      t.push_back(std::chrono::duration<double>(clock::now() - a).count());
    }
    std::sort(t.begin(), t.end());
    LowpTiming r;
    r.median_s = t[t.size() / 2], r.min_s = t.front(), r.p10_s = t[t.size() / 10], r.p90_s = t[t.size() * 9 / 10];
    r.repetitions = int(t.size());
    return r;
  };
  fmt::print("{:<22}{:<11}{:<36}{:>10}{:>10}{:>10}  {}\n", "kernel", "dtype", "shape", "ms", "min ms", "GFLOP/s", "value");
  dfp_conv_rows(quick, [](const LowpRow& r) {
    fmt::print("{:<22}{:<11}{:<36}{:>10.3f}{:>10.3f}{:>10}  {}\n", r.kernel, r.dtype, r.shape, 1e3 * r.timing.median_s, 1e3 * r.timing.min_s,
               r.flops > 0 ? fmt::format("{:.1f}", r.flops / r.timing.median_s / 1e9) : "",
               std::isnan(r.value) ? r.note : fmt::format("{:.2f}x", r.value));
  }, timer);
}
