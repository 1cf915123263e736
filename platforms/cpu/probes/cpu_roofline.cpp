#include "platforms/cpu/probes/cpu_roofline.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>

#include "platforms/cpu/probes/cpu_platform.hpp"
#include "platforms/cpu/probes/roofline_bandwidth.hpp"
#include "platforms/cpu/probes/roofline_binding.hpp"
#include "platforms/cpu/probes/roofline_gemm.hpp"
#include "platforms/cpu/probes/roofline_kernels.hpp"
#include "platforms/cpu/probes/roofline_levels.hpp"

namespace paradnn::cpu {

namespace {

// How long each figure is measured; quick trades repetitions and sizes for seconds.
struct Effort {
  int repetitions;
  double kernel_seconds;     // one repetition of a compute kernel
  double bandwidth_seconds;  // one repetition at one working set
  int size_stride;           // 1: every power of two; 2: every other
  std::vector<int> gemm_sizes;  // square GEMM sizes; the best is the library ceiling
  int gemm_repetitions;
};
const Effort kFull{5, 0.05, 0.01, 1, {2048, 3072}, 3};
const Effort kQuick{3, 0.01, 0.004, 2, {1024}, 2};

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The clock the kernel rates imply, where the OS says (VMs often have no cpufreq).
std::string cpu_mhz() {
  std::ifstream max_khz("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
  double khz = 0;
  if (max_khz >> khz) return fmt::format("{:.0f} max (cpufreq)", khz / 1000);
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("cpu MHz", 0) == 0) return line.substr(line.find(':') + 2) + " (/proc/cpuinfo, at probe start)";
  return "unknown";
}

std::string bytes_text(double b) {
  if (b >= 1 << 30) return fmt::format("{:.3g} GiB", b / (1 << 30));
  if (b >= 1 << 20) return fmt::format("{:.3g} MiB", b / (1 << 20));
  return fmt::format("{:.3g} KiB", b / 1024);
}

// Best of the repetitions of `k` on `threads` threads; the step count is set so one
// repetition lasts about `seconds` (one thread's timing of a short run, which also warms up).
Rate kernel_rate(const ComputeKernel& k, int threads, const Effort& e) {
  constexpr int64_t kProbeSteps = 1 << 14;
  run_checked(k, kProbeSteps);  // wakes the vector units (AVX-512 frequency licence)
  const double t0 = seconds_since_epoch();
  run_checked(k, kProbeSteps);
  const double dt = std::max(seconds_since_epoch() - t0, 1e-6);
  const auto steps = std::max<int64_t>(kProbeSteps, static_cast<int64_t>(kProbeSteps * e.kernel_seconds / dt));
  return best_of(e.repetitions, [&] { return parallel_rate(threads, [&](int) { return run_checked(k, steps); }); });
}

void report(const RooflineOptions& o, int threads, const std::string& what, double per_s, const char* unit, const Rate& r) {
  if (o.progress)
    o.progress(fmt::format("{:>2} thr  {:<46} {:9.1f} {:<6} spread {:4.1f}%", threads, what, per_s / 1e9, unit, 100 * r.spread));
}

// The dtypes whose library GEMM is a ceiling here: those the backend runs natively.
std::vector<std::string> gemm_dtypes(const CpuFeatures& f) {
  std::vector<std::string> d{"f32"};
  if (f.bf16) d.push_back("bf16");
  if (f.vnni) d.push_back("int8");
  return d;
}

}  // namespace

PlatformFile probe_cpu_roofline(const RooflineOptions& o) {
  const double start = seconds_since_epoch();
  const Effort& e = o.quick ? kQuick : kFull;
  const CpuFeatures features = cpu_features();
  const std::vector<ComputeKernel> kernels = compute_kernels(features);
  const std::vector<CacheLevel> caches = data_caches();
  const double largest = largest_working_set(caches, available_memory_bytes());
  std::vector<int> thread_counts = o.threads.empty() ? std::vector<int>{1, physical_cores()} : o.threads;
  std::sort(thread_counts.begin(), thread_counts.end());
  thread_counts.erase(std::unique(thread_counts.begin(), thread_counts.end()), thread_counts.end());

  PlatformFile f;
  f.machine = cpu_platform();
  f.date_utc = utc_now();
  std::string settings = fmt::format("cpu_mhz: {}\nrepetitions: {} (best kept; spread = (best - worst) / best)\n",
                                     cpu_mhz(), e.repetitions);
  for (const ComputeKernel& k : kernels) settings += fmt::format("{} {}: {}\n", k.method, k.dtype, k.name);
  for (const CacheLevel& c : caches)
    settings += fmt::format("cache {}: {} per {} core(s) (hwloc)\n", c.name, bytes_text(c.bytes), c.cores_sharing);
  settings += fmt::format("bandwidth: read (8 B per element) and triad a = b + s*c (24 B per element, write-allocate "
                          "not counted), per-thread working sets 16 KiB .. {} in total\n", bytes_text(largest));

  std::vector<BandwidthPoint> points;
  for (int n : thread_counts) {
    CoreBinding binding(n);
    settings += fmt::format("threads {}: {}\n", n, binding.describe());
    for (const ComputeKernel& k : kernels) {
      const Rate r = kernel_rate(k, n, e);
      f.compute.push_back({k.dtype, n, r.per_s, r.spread, k.method});
      report(o, n, k.dtype + " " + k.name, r.per_s, "G/s", r);
    }
    for (const std::string& dtype : gemm_dtypes(features)) {
      std::optional<GemmCeiling> g;
      int best_size = 0;
      // Which size runs best differs by thread count and cache, so the ceiling is the best.
      for (int size : e.gemm_sizes)
        if (auto r = library_gemm(dtype, size, e.gemm_repetitions); r && (!g || r->rate.per_s > g->rate.per_s)) {
          g = r;
          best_size = size;
        }
      if (!g) continue;
      f.compute.push_back({dtype, n, g->rate.per_s, g->rate.spread, "library_gemm"});
      settings += fmt::format("library_gemm {} threads {}: oneDNN matmul {}^3, {}\n", dtype, n, best_size, g->impl);
      report(o, n, dtype + " oneDNN matmul " + g->impl, g->rate.per_s, "G/s", g->rate);
    }
    for (const BandwidthPoint& p :
         bandwidth_sweep({n, sweep_sizes(largest, n, e.size_stride), e.repetitions, e.bandwidth_seconds})) {
      points.push_back(p);
      report(o, n, p.kernel + " " + bytes_text(p.bytes_per_thread) + " per thread", p.rate.per_s, "GB/s", p.rate);
    }
  }
  f.bandwidth = assign_levels(points, caches);
  settings += fmt::format("probe_seconds: {:.1f}", seconds_since_epoch() - start);
  f.settings = settings;
  return f;
}

std::string default_platform_file_path() { return platform_file_path(cpu_model_name()); }

PlatformFile load_or_probe_platform(const std::string& path_or_empty) {
  if (!path_or_empty.empty()) return load_platform_file(path_or_empty);
  // The default file stands for this CPU as oneDNN sees it now; a capped ISA measures anew.
  const std::string isa = cpu_features().isa;
  return load_or_measure(
      default_platform_file_path(),
      [&](const PlatformFile& f) -> std::optional<std::string> {
        if (f.machine.isa == isa) return std::nullopt;
        return "measured with ISA " + f.machine.isa + ", this run has " + isa;
      },
      [] { return probe_cpu_roofline(); });
}

}  // namespace paradnn::cpu
