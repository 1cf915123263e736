#include "runners/harness/timing.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>

namespace paradnn {

double percentile(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::vector<double> s = v;
  std::sort(s.begin(), s.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(s.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (pos - static_cast<double>(lo)) * (s[hi] - s[lo]);
}

double sample_stddev(const std::vector<double>& v) {
  if (v.size() < 2) return std::numeric_limits<double>::infinity();
  const double n = static_cast<double>(v.size());
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / (n - 1));
}

double relative_stddev(const std::vector<double>& v) {
  if (v.size() < 2) return std::numeric_limits<double>::infinity();
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  return mean > 0 ? sample_stddev(v) / mean : std::numeric_limits<double>::infinity();
}

void summarize(Measurement& m) {
  const std::vector<double>& v = m.rep_times;
  m.repetitions = static_cast<int>(v.size());
  if (v.empty()) return;
  m.median_s = percentile(v, 0.5);
  m.p10_s = percentile(v, 0.10);
  m.p90_s = percentile(v, 0.90);
  m.min_s = *std::min_element(v.begin(), v.end());
  m.cv = v.size() < 2 ? 0 : relative_stddev(v);
}

namespace {

// Google Benchmark reads its BENCHMARK_* environment into flags when the library loads;
// parsing explicit arguments once overrides every flag that could filter the benchmark away,
// write a file, change repetitions or drop the per-repetition runs the Collector reads.
void own_benchmark_flags() {
  static std::once_flag once;
  std::call_once(once, [] {
    static const char* args[] = {"paradnn",
                                 "--benchmark_filter=.",
                                 "--benchmark_list_tests=false",
                                 "--benchmark_out=",
                                 "--benchmark_out_format=json",
                                 "--benchmark_format=console",
                                 "--benchmark_color=false",
                                 "--benchmark_counters_tabular=false",
                                 "--benchmark_repetitions=1",
                                 "--benchmark_min_time=0.5",
                                 "--benchmark_min_warmup_time=0",
                                 "--benchmark_enable_random_interleaving=false",
                                 "--benchmark_report_aggregates_only=false",
                                 "--benchmark_display_aggregates_only=false",
                                 "--benchmark_time_unit=s",
                                 "--benchmark_perf_counters=",
                                 "--benchmark_context=",
                                 "--v=0"};
    int argc = static_cast<int>(std::size(args));
    std::vector<char*> argv;
    for (const char* a : args) argv.push_back(const_cast<char*>(a));
    argv.push_back(nullptr);
    benchmark::Initialize(&argc, argv.data());
  });
}

// Collects the per-repetition runs of the single benchmark the harness registers.
class Collector : public benchmark::BenchmarkReporter {
 public:
  explicit Collector(Measurement& m) : m(m) {}
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) error = r.error_message.empty() ? "step failed" : r.error_message;
      if (r.run_type != Run::RT_Iteration || r.iterations <= 0) continue;
      m.timed_s += r.real_accumulated_time;
      m.iterations = r.iterations;
      m.rep_times.push_back(r.real_accumulated_time / static_cast<double>(r.iterations));
    }
  }
  Measurement& m;
  std::string error;
};

// Runs `repetitions` repetitions and appends their times to m.
void run_repetitions(Executable& exe, int repetitions, double warmup_s, double min_time_s, const std::string& name,
                     Measurement& m) {
  benchmark::ClearRegisteredBenchmarks();
  const bool own_clock = exe.clock() == Clock::device;
  auto* b = benchmark::RegisterBenchmark(name.c_str(), [&exe, own_clock](benchmark::State& state) {
    try {
      for (auto _ : state) {
        if (own_clock) state.SetIterationTime(exe.step_seconds());
        else exe.step();
      }
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  });
  b->Repetitions(repetitions)->MinTime(min_time_s)->MinWarmUpTime(warmup_s)->Unit(benchmark::kSecond);
  b->ReportAggregatesOnly(false);
  if (own_clock) b->UseManualTime();
  else b->UseRealTime();
  Collector c(m);
  benchmark::RunSpecifiedBenchmarks(&c);
  benchmark::ClearRegisteredBenchmarks();
  if (!c.error.empty()) throw std::runtime_error(c.error);
}

}  // namespace

Measurement time_steps(Executable& exe, const RunOptions& options, const std::string& name) {
  Measurement m;
  if (exe.clock() == Clock::model) {
    m.median_s = m.p10_s = m.p90_s = m.min_s = exe.step_seconds();
    return m;
  }
  own_benchmark_flags();
  const auto t0 = std::chrono::steady_clock::now();
  run_repetitions(exe, options.repetitions, options.warmup_s, options.min_time_s, name, m);
  if (options.max_noise > 0) {
    const auto spent = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    while (relative_stddev(m.rep_times) > options.max_noise && spent() < options.max_time_s)
      run_repetitions(exe, 1, 0, options.min_time_s, name, m);  // the step is warm: no second warm-up
    m.stop_reason = relative_stddev(m.rep_times) <= options.max_noise ? "noise" : "time_cap";
  }
  summarize(m);
  return m;
}

}  // namespace paradnn
