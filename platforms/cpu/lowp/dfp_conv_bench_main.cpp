// Standalone runner for the DFP convolution rows (dfp_conv_bench.hpp) without the rest of
// `paradnn lowp`. Median of per-call times after a warm-up.
//   paradnn_dfp_conv_bench [--quick]          the ResNet-like shapes (quick: batch 8)
//   paradnn_dfp_conv_bench --cnn F [--batch N] the cnn family's distinct layers at image 64
//                                              (filters F: stem, and per group the 3x3, the
//                                              strided 3x3 and the 1x1 projection)
//   paradnn_dfp_conv_bench n,c,k,h,w,r,s,stride,pad ...   given shapes
//   --blocked: activations whose channels are a multiple of 16 in nChw16c, as the sweep's
//              int16_dfp graphs hold them (platforms/cpu/backend/onednn_dfp.cpp)
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "platforms/cpu/lowp/dfp_conv_bench.hpp"

namespace {

using paradnn::cpu::lowp::ConvShape;

// The cnn generator's convolutions (models/cnn_generator.cpp) at image 64: a 7x7/2 stem and a
// 3x3/2 pool to 16x16, then four groups of F, 2F, 4F, 8F filters, strides 1, 2, 2, 2.
std::vector<ConvShape> cnn_shapes(int f, int n) {
  std::vector<ConvShape> s = {{n, 3, f, 64, 64, 7, 7, 2, 3}};
  int c = f, hw = 16;
  for (int g = 0; g < 4; ++g) {
    const int k = f << g, stride = g ? 2 : 1;
    s.push_back({n, c, k, hw, hw, 3, 3, stride, 1});   // conv1 of the group's first block
    s.push_back({n, c, k, hw, hw, 1, 1, stride, 0});   // its projection shortcut
    hw /= stride;
    s.push_back({n, k, k, hw, hw, 3, 3, 1, 1});        // every other 3x3
    c = k;
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace paradnn::cpu::lowp;
  bool quick = false, blocked = false;
  int cnn = 0, batch = 32;
  std::vector<ConvShape> shapes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--blocked") blocked = true;
    else if (a == "--cnn" && i + 1 < argc) cnn = std::atoi(argv[++i]);
    else if (a == "--batch" && i + 1 < argc) batch = std::atoi(argv[++i]);
    else {
      ConvShape s;
      if (std::sscanf(a.c_str(), "%d,%d,%d,%d,%d,%d,%d,%d,%d", &s.n, &s.c, &s.k, &s.h, &s.w, &s.r, &s.s, &s.stride, &s.pad) != 9) {
        fmt::print(stderr, "bad argument '{}': expected --quick, --blocked, --cnn F [--batch N] or n,c,k,h,w,r,s,stride,pad\n", a);
        return 2;
      }
      shapes.push_back(s);
    }
  }
  if (cnn > 0) shapes = cnn_shapes(cnn, batch);
  if (shapes.empty()) shapes = dfp_conv_bench_shapes(quick);
  if (blocked)
    for (ConvShape& s : shapes) s.in = preferred_layout(s.c), s.out = preferred_layout(s.k);
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
  dfp_conv_rows(shapes, [](const LowpRow& r) {
    fmt::print("{:<22}{:<11}{:<36}{:>10.3f}{:>10.3f}{:>10}  {}\n", r.kernel, r.dtype, r.shape, 1e3 * r.timing.median_s, 1e3 * r.timing.min_s,
               r.flops > 0 ? fmt::format("{:.1f}", r.flops / r.timing.median_s / 1e9) : "",
               std::isnan(r.value) ? r.note : fmt::format("{:.2f}x", r.value));
  }, timer);
}
