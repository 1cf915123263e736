// CPU roofline: the probe's kernels compute what they claim, rates are positive and plausible,
// the level assignment and roofline arithmetic on hand numbers, and the platform file's
// round trip and error messages. Correctness only: no speed targets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>

#include "paradnn/error.hpp"
#include "platforms/cpu/probes/cpu_platform.hpp"
#include "platforms/cpu/probes/cpu_roofline.hpp"
#include "platforms/cpu/probes/roofline_bandwidth.hpp"
#include "platforms/cpu/probes/roofline_gemm.hpp"
#include "platforms/cpu/probes/roofline_kernels.hpp"
#include "platforms/cpu/probes/roofline_levels.hpp"
#include "platforms/cpu/probes/roofline_timing.hpp"
#include "paradnn/platform_file.hpp"

using namespace paradnn;
using namespace paradnn::cpu;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("paradnn_test_roofline_" + name)).string();
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string p = temp_path(name);
  std::ofstream(p) << text;
  return p;
}

// The message of the InputError `f` throws ("" if none).
template <typename F>
std::string input_error(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

PlatformFile sample_file() {
  PlatformFile f;
  f.machine.platform = "cpu";
  f.machine.device_name = "Test CPU: 2 cores @ 2.6GHz";
  f.machine.isa = "avx512_core";
  f.machine.cores = 2;
  f.machine.sockets = 1;
  f.machine.hardware_threads = 4;
  f.machine.memory_bytes = 8.0 * (1 << 30);
  f.machine.versions = {{"onednn", "2.6.3 (abc)"}, {"hwloc", "2.9.0"}};
  f.date_utc = "2025-01-02T03:04:05Z";
  f.settings = "threads 1: bound\nthreads 2: bound";
  f.compute = {{"f32", 1, 100e9, 0.01, "fma_kernel"},   {"f32", 1, 90e9, 0.02, "library_gemm"},
               {"f32", 2, 200e9, 0.03, "fma_kernel"},   {"f32", 2, 210e9, 0.04, "library_gemm"},
               {"int8", 2, 800e9, 0.05, "fma_kernel"}};
  f.bandwidth = {{"L1", 1, 300e9, 0.1, 32768, "read"},          {"DRAM", 1, 15e9, 0.02, 1e9, "read"},
                 {"DRAM", 1, 16e9 / 3, 0.01, 1e9, "triad"},     {"DRAM", 2, 30e9, 0.03, 2e9, "read"}};
  return f;
}

}  // namespace

// --- compute kernels ---------------------------------------------------------------------------

TEST(RooflineKernels, EveryKernelThisCpuHasSumsToItsClosedForm) {
  int ran = 0;
  for (const ComputeKernel& k : all_compute_kernels()) {
    if (!k.runs_here) continue;
    SCOPED_TRACE(k.name);
    // More than one round, so the reset between rounds is exercised too.
    const int64_t steps = kStepsPerRound + 1000;
    const KernelOutcome o = k.run(steps);
    EXPECT_EQ(o.result, o.expected);
    EXPECT_GT(o.ops, 0);
    EXPECT_DOUBLE_EQ(run_checked(k, steps), o.ops);
    // The result depends on how many steps ran, so a kernel that did nothing could not pass.
    const KernelOutcome fewer = k.run(1000);
    EXPECT_EQ(fewer.result, fewer.expected);
    EXPECT_NE(fewer.expected, k.run(2000).expected);
    EXPECT_DOUBLE_EQ(fewer.ops * 2, k.run(2000).ops);
    ++ran;
  }
  if (cpu_features().cpuid.avx2) {
    EXPECT_GE(ran, 3);
  }  // f32, int8 and int16 at least
}

TEST(RooflineKernels, ChoosesOneKernelPerDtypeWithinTheIsa) {
  const CpuFeatures f = cpu_features();
  const auto kernels = compute_kernels(f);
  if (!f.avx2) GTEST_SKIP() << "no AVX2 on this CPU (ISA " << f.isa << "): no vector kernels";
  ASSERT_FALSE(kernels.empty());
  EXPECT_EQ(kernels.front().dtype, "f32");
  for (const ComputeKernel& k : kernels) {
    EXPECT_TRUE(k.runs_here) << k.name;
    if (!f.avx512) {
    EXPECT_EQ(k.name.find("zmm"), std::string::npos) << k.name;
  }
    if (k.dtype == "bf16") {
    EXPECT_TRUE(f.bf16);
  }
  }
  CpuFeatures capped = f;
  capped.avx512 = capped.bf16 = capped.vnni = false;
  for (const ComputeKernel& k : compute_kernels(capped)) EXPECT_NE(k.name.find("ymm"), std::string::npos) << k.name;
}

TEST(RooflineKernels, F32PeakPerCoreIsPlausible) {
  const auto kernels = compute_kernels(cpu_features());
  if (kernels.empty()) GTEST_SKIP() << "no vector kernels for ISA " << cpu_features().isa;
  const ComputeKernel& f32 = kernels.front();
  const Rate r = best_of(3, [&] { return parallel_rate(1, [&](int) { return run_checked(f32, 1 << 16); }); });
  EXPECT_GE(r.per_s, 1e9) << f32.name;
  EXPECT_GE(r.spread, 0);
  EXPECT_LT(r.spread, 1);
}

// --- AMX tile kernels (skipped, with the reason, where the CPU or the kernel says no) ----------

namespace {

// bf16 bit pattern of a small integer (exact: its f32 has no low mantissa bits).
uint16_t bf16_of(int v) {
  const float f = static_cast<float>(v);
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return static_cast<uint16_t>(bits >> 16);
}

}  // namespace

TEST(RooflineAmx, KernelsSumToTheirClosedForm) {
  std::string skipped;
  for (const ComputeKernel& k : all_compute_kernels()) {
    if (k.method != "amx_kernel") continue;
    SCOPED_TRACE(k.name);
    const std::string why = amx_unavailable_reason(k.dtype);
    EXPECT_EQ(k.runs_here, why.empty()) << why;
    if (!why.empty()) {
      skipped += k.dtype + ": " + why + "; ";
      continue;
    }
    // Past bf16's 2^15-step round, so the accumulator reset is exercised too.
    const KernelOutcome o = k.run(40000);
    EXPECT_EQ(o.result, o.expected);
    EXPECT_DOUBLE_EQ(o.ops, 40000.0 * 4 * 16 * 16 * (k.dtype == "bf16" ? 32 : 64) * 2);
    EXPECT_DOUBLE_EQ(run_checked(k, 1000), k.run(1000).ops);
    EXPECT_NE(k.run(1000).expected, k.run(2000).expected);
  }
  if (!skipped.empty()) GTEST_SKIP() << "AMX kernels not run: " << skipped;
}

TEST(RooflineAmx, OneTileProductEqualsAScalarLoop) {
  std::string skipped;
  std::mt19937 rng(22);
  if (const std::string why = amx_unavailable_reason("bf16"); !why.empty()) {
    skipped += "bf16: " + why + "; ";
  } else {
    // Small integers: every product and partial sum is exact in f32, so the order the unit
    // adds them in cannot matter and the comparison is exact.
    std::uniform_int_distribution<int> d(-8, 8);
    std::vector<int> a(16 * 32), b(32 * 16);
    for (int& x : a) x = d(rng);
    for (int& x : b) x = d(rng);
    std::vector<uint16_t> a16(a.size()), b16(b.size());
    std::transform(a.begin(), a.end(), a16.begin(), bf16_of);
    std::transform(b.begin(), b.end(), b16.begin(), bf16_of);
    const std::vector<float> c = amx_tile_product_bf16(a16, b16);
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 16; ++n) {
        int want = 0;
        for (int k = 0; k < 32; ++k) want += a[m * 32 + k] * b[k * 16 + n];
        ASSERT_EQ(c[m * 16 + n], static_cast<float>(want)) << "C[" << m << "][" << n << "]";
      }
  }
  if (const std::string why = amx_unavailable_reason("int8"); !why.empty()) {
    skipped += "int8: " + why + "; ";
  } else {
    std::uniform_int_distribution<int> du(0, 255), ds(-128, 127);
    std::vector<uint8_t> a(16 * 64);
    std::vector<int8_t> b(64 * 16);
    for (auto& x : a) x = static_cast<uint8_t>(du(rng));
    for (auto& x : b) x = static_cast<int8_t>(ds(rng));
    const std::vector<int32_t> c = amx_tile_product_int8(a, b);
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 16; ++n) {
        int32_t want = 0;
        for (int k = 0; k < 64; ++k) want += int32_t{a[m * 64 + k]} * int32_t{b[k * 16 + n]};
        ASSERT_EQ(c[m * 16 + n], want) << "C[" << m << "][" << n << "]";
      }
  }
  if (!skipped.empty()) GTEST_SKIP() << "AMX tile products not checked: " << skipped;
}

TEST(RooflineAmx, WithoutAmxTheVectorKernelsAreTheCeilingAndTheReasonSaysWhy) {
  const CpuFeatures f = cpu_features();
  const std::string why = amx_unavailable_reason("bf16");
  std::string bf16_kernel, bf16_method;
  for (const ComputeKernel& k : compute_kernels(f))
    if (k.dtype == "bf16") {
      bf16_kernel = k.name;
      bf16_method = k.method;
    }
  if (why.empty()) {
    // AMX runs here: it is the bf16 ceiling wherever oneDNN dispatches to it too.
    if (f.amx) {
      EXPECT_EQ(bf16_method, "amx_kernel") << bf16_kernel;
    }
    GTEST_SKIP() << "this CPU runs AMX; the no-AMX path is not reachable here";
  }
  EXPECT_NE(why.find("AMX"), std::string::npos) << why;
  if (!f.cpuid.amx_tile) {
    EXPECT_NE(why.find("cpuid"), std::string::npos) << why;
    EXPECT_EQ(amx_permission(), why);
  }
  for (const ComputeKernel& k : all_compute_kernels())
    if (k.method == "amx_kernel" && k.dtype == "bf16") {
      EXPECT_FALSE(k.runs_here) << k.name;
    }
  if (f.bf16 && f.cpuid.avx512_bf16) {
    EXPECT_EQ(bf16_kernel, "vdpbf16ps zmm");
    EXPECT_EQ(bf16_method, "fma_kernel");
  }
  // The one-product helper refuses with the same reason rather than faulting.
  try {
    amx_tile_product_bf16(std::vector<uint16_t>(16 * 32), std::vector<uint16_t>(32 * 16));
    ADD_FAILURE() << "amx_tile_product_bf16 ran without AMX";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
  std::cout << "[          ] AMX absent here: " << why << "\n";
}

TEST(RooflineTiming, ParallelRateSumsEveryThreadsWork) {
  std::vector<int> seen(2, 0);
  const double r = parallel_rate(2, [&](int t) {
    seen[t] = 1;
    return 1.0;
  });
  EXPECT_EQ(seen, (std::vector<int>{1, 1}));
  EXPECT_GT(r, 0);
  EXPECT_THROW(parallel_rate(1, [](int) -> double { throw std::runtime_error("wrong sum"); }), std::runtime_error);
  const Rate best = best_of(3, [n = 0]() mutable { return 10.0 - n++; });  // 10, 9, 8
  EXPECT_DOUBLE_EQ(best.per_s, 10);
  EXPECT_DOUBLE_EQ(best.spread, 0.2);
}

// --- library GEMM ------------------------------------------------------------------------------

TEST(RooflineGemm, F32GemmIsExactAndNamesItsKernel) {
  const auto g = library_gemm("f32", 256, 2);
  ASSERT_TRUE(g.has_value());
  EXPECT_GT(g->rate.per_s, 1e8);
  EXPECT_FALSE(g->impl.empty());
  EXPECT_FALSE(library_gemm("f64", 64, 1).has_value());
  const CpuFeatures f = cpu_features();
  if (f.bf16) {
    EXPECT_TRUE(library_gemm("bf16", 256, 1).has_value());
  }
  if (f.vnni) {
    EXPECT_TRUE(library_gemm("int8", 256, 1).has_value());
  }
}

// --- bandwidth ---------------------------------------------------------------------------------

TEST(RooflineBandwidth, ReadAndTriadComputeWhatTheyClaim) {
  constexpr size_t n = 4096;
  auto buf = [] { return std::unique_ptr<double, decltype(&std::free)>(static_cast<double*>(std::aligned_alloc(64, n * 8)), &std::free); };
  auto a = buf(), b = buf(), c = buf();
  double expected = 0;
  for (size_t i = 0; i < n; ++i) {
    b.get()[i] = static_cast<double>(i % 13);
    c.get()[i] = 0.5 * static_cast<double>(i % 5);
    expected += b.get()[i];
  }
  EXPECT_EQ(read_sum(b.get(), n), expected);
  triad(a.get(), b.get(), c.get(), 4.0, n);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(a.get()[i], b.get()[i] + 4.0 * c.get()[i]) << i;
}

TEST(RooflineBandwidth, SweepGivesPositiveRatesForBothKernels) {
  const auto points = bandwidth_sweep({1, {16 * 1024, 256 * 1024}, 2, 0.002});
  ASSERT_EQ(points.size(), 4u);
  for (const BandwidthPoint& p : points) {
    EXPECT_TRUE(p.kernel == "read" || p.kernel == "triad");
    EXPECT_GT(p.rate.per_s, 0) << p.kernel << " " << p.bytes_per_thread;
    EXPECT_LE(p.bytes_per_thread, 256 * 1024);
    EXPECT_GT(p.bytes_per_thread, 8 * 1024);
  }
}

TEST(RooflineLevels, PlateauPerLevelFromCacheSizes) {
  const std::vector<CacheLevel> caches{{"L1", 48e3, 1}, {"L2", 2e6, 1}, {"L3", 100e6, 2}};
  auto pt = [](double bytes, double rate, int threads = 1) {
    return BandwidthPoint{"read", threads, bytes, {rate, 0.01}};
  };
  const std::vector<BandwidthPoint> points{pt(16e3, 300), pt(32e3, 320), pt(64e3, 250), pt(256e3, 180),
                                           pt(1e6, 185),  pt(8e6, 30),   pt(64e6, 28),  pt(512e6, 15),
                                           pt(16e3, 600, 2), pt(40e6, 55, 2), pt(80e6, 40, 2), pt(512e6, 30, 2)};
  const auto levels = assign_levels(points, caches);
  auto find = [&](const std::string& level, int threads) -> double {
    for (const BandwidthCeiling& b : levels)
      if (b.level == level && b.threads == threads) return b.bytes_per_s;
    return -1;
  };
  EXPECT_EQ(find("L1", 1), 320);
  EXPECT_EQ(find("L2", 1), 185);  // 64 KB is left out: under twice L1, still partly L1 hits
  EXPECT_EQ(find("L3", 1), 30);
  EXPECT_EQ(find("DRAM", 1), 15);
  // At 2 threads each gets half the shared L3 (50 MB): 80 MB per thread is past it.
  EXPECT_EQ(find("L3", 2), 55);
  EXPECT_EQ(find("DRAM", 2), 30);
  EXPECT_EQ(find("L2", 2), -1);  // nothing measured there
  for (const BandwidthCeiling& b : levels) EXPECT_EQ(b.kernel, "read");
}

TEST(RooflineLevels, NoDramFigureWithoutAWorkingSetPastTheLastCache) {
  const std::vector<CacheLevel> caches{{"L1", 48e3, 1}, {"L3", 100e6, 1}};
  const auto levels = assign_levels({{"triad", 1, 32e3, {400, 0}}, {"triad", 1, 50e6, {30, 0}}}, caches);
  for (const BandwidthCeiling& b : levels) EXPECT_NE(b.level, "DRAM");
  EXPECT_EQ(levels.size(), 2u);
}

TEST(RooflineLevels, SweepSizesAndLargestWorkingSet) {
  constexpr double GiB = 1024.0 * 1024 * 1024;
  const auto sizes = sweep_sizes(1 * GiB, 2);
  EXPECT_EQ(sizes.front(), 16 * 1024);
  EXPECT_EQ(sizes.back(), 0.5 * GiB);
  for (size_t i = 1; i < sizes.size(); ++i) EXPECT_GT(sizes[i], sizes[i - 1]);
  EXPECT_LT(sweep_sizes(1 * GiB, 1, 2).size(), sweep_sizes(1 * GiB, 1, 1).size());
  EXPECT_EQ(largest_working_set({{"L3", 480e6, 2}}, 0), 4 * 480e6);  // 4 x the last-level cache
  EXPECT_EQ(largest_working_set({{"L3", 600e6, 2}}, 0), 2 * GiB);     // capped
  EXPECT_EQ(largest_working_set({{"L3", 32e6, 8}}, 0), 1 * GiB);    // at least 1 GiB for DRAM
  EXPECT_EQ(largest_working_set({{"L3", 400e6, 8}}, 2 * GiB), 0.5 * GiB);  // a quarter of free memory
}

// --- roofline arithmetic -------------------------------------------------------------------------

TEST(RooflinePlacement, UtilizationAndBoundOnHandNumbers) {
  // Peak 100 GFLOP/s, 10 GB/s: the ridge is at 10 FLOP/byte.
  Placement p = place_on_roofline(25e9, 5, 100e9, 10e9);
  EXPECT_DOUBLE_EQ(p.utilization, 0.25);
  EXPECT_EQ(p.bound, "memory");
  p = place_on_roofline(80e9, 20, 100e9, 10e9);
  EXPECT_DOUBLE_EQ(p.utilization, 0.8);
  EXPECT_EQ(p.bound, "compute");
  EXPECT_EQ(place_on_roofline(1e9, 10, 100e9, 10e9).bound, "compute");  // on the ridge
  EXPECT_EQ(place_on_roofline(1e9, 1e6, 100e9, 0).bound, "memory");     // no bandwidth known
}

TEST(RooflinePlacement, PeakAndBandwidthAtTheNearestThreadCount) {
  const PlatformFile f = sample_file();
  EXPECT_EQ(f.peak_flops(DType::f32, 1), 100e9);   // the best of kernel and library at 1 thread
  EXPECT_EQ(f.peak_flops(DType::f32, 2), 210e9);
  EXPECT_EQ(f.peak_flops(DType::f32, 0), 210e9);   // 0 = the most threads measured
  EXPECT_EQ(f.peak_flops(DType::f32, 16), 210e9);
  EXPECT_EQ(f.peak_flops(DType::int8, 1), 800e9);  // only 2 threads measured: the nearest
  EXPECT_FALSE(f.peak_flops(DType::bf16, 1).has_value());
  EXPECT_EQ(f.memory_bandwidth(1), 15e9);  // DRAM only, best kernel
  EXPECT_EQ(f.memory_bandwidth(0), 30e9);
  EXPECT_FALSE(PlatformFile{}.memory_bandwidth(1).has_value());
}

// --- platform file -------------------------------------------------------------------------------

TEST(PlatformFile, SaveLoadRoundTrip) {
  const PlatformFile f = sample_file();
  const std::string path = temp_path("roundtrip/platform.yaml");
  std::filesystem::remove_all(temp_path("roundtrip"));
  save_platform_file(f, path);
  const PlatformFile g = load_platform_file(path);
  EXPECT_EQ(g.machine.platform, f.machine.platform);
  EXPECT_EQ(g.machine.device_name, f.machine.device_name);
  EXPECT_EQ(g.machine.isa, f.machine.isa);
  EXPECT_EQ(g.machine.cores, 2);
  EXPECT_EQ(g.machine.sockets, 1);
  EXPECT_EQ(g.machine.hardware_threads, 4);
  EXPECT_EQ(g.machine.memory_bytes, f.machine.memory_bytes);
  EXPECT_EQ(g.machine.versions, f.machine.versions);
  EXPECT_EQ(g.date_utc, f.date_utc);
  EXPECT_EQ(g.settings, f.settings);
  ASSERT_EQ(g.compute.size(), f.compute.size());
  for (size_t i = 0; i < f.compute.size(); ++i) {
    EXPECT_EQ(g.compute[i].dtype, f.compute[i].dtype);
    EXPECT_EQ(g.compute[i].threads, f.compute[i].threads);
    EXPECT_EQ(g.compute[i].flops_per_s, f.compute[i].flops_per_s);  // exact: shortest round-trip text
    EXPECT_EQ(g.compute[i].spread, f.compute[i].spread);
    EXPECT_EQ(g.compute[i].method, f.compute[i].method);
  }
  ASSERT_EQ(g.bandwidth.size(), f.bandwidth.size());
  for (size_t i = 0; i < f.bandwidth.size(); ++i) {
    EXPECT_EQ(g.bandwidth[i].level, f.bandwidth[i].level);
    EXPECT_EQ(g.bandwidth[i].threads, f.bandwidth[i].threads);
    EXPECT_EQ(g.bandwidth[i].bytes_per_s, f.bandwidth[i].bytes_per_s);
    EXPECT_EQ(g.bandwidth[i].spread, f.bandwidth[i].spread);
    EXPECT_EQ(g.bandwidth[i].working_set_bytes, f.bandwidth[i].working_set_bytes);
    EXPECT_EQ(g.bandwidth[i].kernel, f.bandwidth[i].kernel);
  }
  std::filesystem::remove_all(temp_path("roundtrip"));
}

TEST(PlatformFile, LoadErrorsNameFileLineAndKey) {
  const std::string base =
      "machine:\n"
      "  platform: cpu\n"
      "  device_name: x\n"
      "  isa: avx2\n"
      "  cores: 2\n"
      "  sockets: 1\n"
      "  hardware_threads: 2\n"
      "  memory_bytes: 1e9\n"
      "  versions: {onednn: 2.6}\n"
      "date_utc: 2025-01-01T00:00:00Z\n"
      "settings: s\n";
  const std::string good_bw = "bandwidth:\n  - {level: DRAM, threads: 1, bytes_per_s: 1e10, spread: 0, working_set_bytes: 1e9, kernel: read}\n";
  const std::string ok = write_file("ok.yaml", base + "compute:\n  - {dtype: f32, threads: 1, flops_per_s: 1e11, spread: 0, method: fma_kernel}\n" + good_bw);
  EXPECT_EQ(load_platform_file(ok).peak_flops(DType::f32, 1), 1e11);

  // Mistyped value: reported at the value (line 13, column 45) with its key.
  const std::string typed = write_file("typed.yaml", base + "compute:\n  - {dtype: f32, threads: 1, flops_per_s: fast, spread: 0, method: fma_kernel}\n" + good_bw);
  std::string e = input_error([&] { load_platform_file(typed); });
  EXPECT_NE(e.find(typed + ":13:"), std::string::npos) << e;
  EXPECT_NE(e.find("flops_per_s"), std::string::npos) << e;
  EXPECT_NE(e.find("fast"), std::string::npos) << e;

  // Missing key: reported at the mapping that lacks it.
  const std::string missing = write_file("missing.yaml", base + "compute:\n  - {dtype: f32, threads: 1, spread: 0, method: fma_kernel}\n" + good_bw);
  e = input_error([&] { load_platform_file(missing); });
  EXPECT_NE(e.find(missing + ":13:"), std::string::npos) << e;
  EXPECT_NE(e.find("'flops_per_s'"), std::string::npos) << e;
  EXPECT_NE(e.find("missing"), std::string::npos) << e;

  const std::string integer = write_file("integer.yaml", base + "compute:\n  - {dtype: f32, threads: 1.5, flops_per_s: 1, spread: 0, method: m}\n" + good_bw);
  e = input_error([&] { load_platform_file(integer); });
  EXPECT_NE(e.find("'threads'"), std::string::npos) << e;
  EXPECT_NE(e.find("integer"), std::string::npos) << e;

  const std::string no_machine = write_file("no_machine.yaml", "date_utc: x\n");
  e = input_error([&] { load_platform_file(no_machine); });
  EXPECT_NE(e.find("'machine'"), std::string::npos) << e;

  const std::string syntax = write_file("syntax.yaml", "machine: {platform: cpu\n");
  e = input_error([&] { load_platform_file(syntax); });
  EXPECT_EQ(e.rfind(syntax + ":", 0), 0u) << e;

  e = input_error([&] { load_platform_file(temp_path("does-not-exist.yaml")); });
  EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
  for (const char* f : {"ok.yaml", "typed.yaml", "missing.yaml", "integer.yaml", "no_machine.yaml", "syntax.yaml"})
    std::filesystem::remove(temp_path(f));
}

TEST(PlatformFile, DefaultPathNamesTheCpuInPlainCharacters) {
  const std::string p = default_platform_file_path();
  EXPECT_EQ(p.rfind("results/platform-", 0), 0u) << p;
  EXPECT_EQ(p.substr(p.size() - 5), ".yaml");
  EXPECT_EQ(p.find_first_of(" ()@:"), std::string::npos) << p;
  EXPECT_EQ(p.find("--"), std::string::npos) << p;
}

// --- the whole probe, quick, at one thread -------------------------------------------------------

TEST(RooflineProbe, QuickProbeHasPeakGemmAndDram) {
  RooflineOptions o;
  o.quick = true;
  o.threads = {1};
  const PlatformFile f = probe_cpu_roofline(o);
  EXPECT_EQ(f.machine.platform, "cpu");
  EXPECT_FALSE(f.date_utc.empty());
  EXPECT_NE(f.settings.find("threads 1:"), std::string::npos) << f.settings;
  bool kernel = false, gemm = false;
  for (const ComputeCeiling& c : f.compute) {
    EXPECT_EQ(c.threads, 1);
    EXPECT_GT(c.flops_per_s, 0);
    kernel |= c.dtype == "f32" && c.method == "fma_kernel";
    gemm |= c.dtype == "f32" && c.method == "library_gemm";
  }
  if (cpu_features().avx2) {
    EXPECT_TRUE(kernel);
  }
  EXPECT_TRUE(gemm);
  ASSERT_TRUE(f.memory_bandwidth(1).has_value());
  EXPECT_GT(*f.memory_bandwidth(1), 0);
  ASSERT_TRUE(f.peak_flops(DType::f32, 1).has_value());
  EXPECT_GE(*f.peak_flops(DType::f32, 1), 1e9);
}
