#include "runners/harness/timing.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace paradnn {

double percentile(const std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::vector<double> s = v;
  std::sort(s.begin(), s.end());
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(s.size())));
  return s[std::clamp<size_t>(rank, 1, s.size()) - 1];
}

namespace {

// Collects the aggregates of the single benchmark the harness registers.
class Collector : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) error = r.error_message.empty() ? "step failed" : r.error_message;
      if (r.run_type == Run::RT_Iteration) {
        m.timed_s += r.real_accumulated_time;
        m.iterations = r.iterations;
        ++m.repetitions;
        continue;
      }
      const double v = r.aggregate_unit == benchmark::kPercentage ? r.real_accumulated_time : r.GetAdjustedRealTime();
      if (r.aggregate_name == "median") m.median_s = v;
      else if (r.aggregate_name == "p10") m.p10_s = v;
      else if (r.aggregate_name == "p90") m.p90_s = v;
      else if (r.aggregate_name == "min") m.min_s = v;
      else if (r.aggregate_name == "cv") m.cv = v;
    }
  }
  Measurement m;
  std::string error;
};

}  // namespace

Measurement time_steps(Executable& exe, const RunOptions& options, const std::string& name) {
  if (exe.clock() == Clock::model) {
    Measurement m;
    m.median_s = m.p10_s = m.p90_s = m.min_s = exe.step_seconds();
    return m;
  }
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
  b->Repetitions(options.repetitions)
      ->MinTime(options.min_time_s)
      ->MinWarmUpTime(options.warmup_s)
      ->Unit(benchmark::kSecond)
      ->ComputeStatistics("p10", [](const std::vector<double>& v) { return percentile(v, 0.10); })
      ->ComputeStatistics("p90", [](const std::vector<double>& v) { return percentile(v, 0.90); })
      ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
  if (own_clock) b->UseManualTime();
  else b->UseRealTime();
  if (options.repetitions == 1) b->ReportAggregatesOnly(false);

  Collector c;
  benchmark::RunSpecifiedBenchmarks(&c);
  benchmark::ClearRegisteredBenchmarks();
  if (!c.error.empty()) throw std::runtime_error(c.error);
  if (options.repetitions == 1 && c.m.iterations > 0) {
    // Google Benchmark computes no aggregates for a single repetition.
    const double t = c.m.timed_s / static_cast<double>(c.m.iterations);
    c.m.median_s = c.m.p10_s = c.m.p90_s = c.m.min_s = t;
  }
  return c.m;
}

}  // namespace paradnn
