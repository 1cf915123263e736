// `paradnn lowp`: low-precision training kernels as benchmarks (INT16 dynamic fixed point
// GEMMs and FC training, Hadamard-domain int8 GEMM) against f32 and bf16; a CSV and a table.
// Timing: Google Benchmark through the sweep harness (warm-up, repetitions, median and spread).
#include <fmt/core.h>

#include <cmath>
#include <filesystem>

#include "analysis/plot_runner.hpp"
#include "paradnn/csv.hpp"
#include "platforms/cpu/lowp/lowp_bench.hpp"  // the lowp room's one public header
#include "platforms/registry.hpp"
#include "runners/cli/commands.hpp"
#include "runners/harness/timing.hpp"

namespace paradnn::cli {

namespace {

// Adapts a closure to the harness's Executable.
class WorkExecutable : public Executable {
 public:
  explicit WorkExecutable(const std::function<void()>& work) : work_(work) {}
  void step() override { work_(); }

 private:
  const std::function<void()>& work_;
};

const std::vector<std::string> kColumns = {"kernel", "dtype", "shape", "isa", "seconds", "seconds_min", "seconds_p10",
                                           "seconds_p90", "cv", "gflops", "metric", "value", "status", "note", "cpu"};

std::string num(double v, const char* f = "{:.6g}") { return std::isnan(v) ? "" : fmt::format(fmt::runtime(f), v); }

Row to_row(const cpu::lowp::LowpRow& r, const std::string& cpu_name) {
  const bool timed = r.timing.repetitions > 0;
  return {{"kernel", r.kernel},
          {"dtype", r.dtype},
          {"shape", r.shape},
          {"isa", r.isa},
          {"seconds", timed ? num(r.timing.median_s) : ""},
          {"seconds_min", timed ? num(r.timing.min_s) : ""},
          {"seconds_p10", timed ? num(r.timing.p10_s) : ""},
          {"seconds_p90", timed ? num(r.timing.p90_s) : ""},
          {"cv", timed ? num(r.timing.cv, "{:.3f}") : ""},
          {"gflops", timed && r.flops > 0 ? num(r.flops / r.timing.median_s / 1e9, "{:.2f}") : ""},
          {"metric", r.metric},
          {"value", num(r.value)},
          {"status", r.skipped ? "skipped" : "ok"},
          {"note", r.note},
          {"cpu", cpu_name}};
}

void print_row(const cpu::lowp::LowpRow& r) {
  const bool timed = r.timing.repetitions > 0;
  const std::string time = timed ? fmt::format("{:.3f} ms ±{:.0f}%", 1e3 * r.timing.median_s, 100 * r.timing.cv) : "";
  const std::string rate = timed && r.flops > 0 ? fmt::format("{:.1f}", r.flops / r.timing.median_s / 1e9) : "";
  const std::string value = r.skipped ? "skipped: " + r.note : (r.metric.empty() ? "" : r.metric + " " + num(r.value, "{:.4g}"));
  fmt::print("{:<20}{:<11}{:<40}{:>18}{:>10}  {}\n", r.kernel, r.dtype, r.shape, time, rate, value);
}

}  // namespace

void add_lowp(CLI::App& app) {
  struct Opts {
    std::string output = "results/lowp.csv";
    bool quick = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("lowp", "Low-precision training kernels: INT16 DFP training and Hadamard-domain int8 GEMM vs f32/bf16");
  cmd->add_option("-o,--output", o->output, "CSV to write (overwritten)");
  cmd->add_flag("--quick", o->quick, "Smaller shapes, fewer steps and repetitions");
  cmd->callback([o]() {
    RunOptions run;
    run.repetitions = o->quick ? 3 : 5;
    run.min_time_s = o->quick ? 0.05 : 0.2;
    run.warmup_s = o->quick ? 0.02 : 0.1;
    const cpu::lowp::LowpTimer timer = [run](const std::string& name, const std::function<void()>& work) {
      WorkExecutable exe(work);
      const Measurement m = time_steps(exe, run, name);
      return cpu::lowp::LowpTiming{m.median_s, m.min_s, m.p10_s, m.p90_s, m.cv, m.repetitions};
    };
    const PlatformInfo machine = make_backend("cpu")->platform();
    const std::string cpu_name = machine.device_name;
    fmt::print("{}, oneDNN ISA {} (each row names the integer kernels' ISA)\n", cpu_name, machine.isa);
    fmt::print("{:<20}{:<11}{:<40}{:>18}{:>10}  {}\n", "kernel", "dtype", "shape", "median ±cv", "GFLOP/s", "result");
    CsvWriter csv(o->output, kColumns, false);
    cpu::lowp::LowpOptions options;
    options.quick = o->quick;
    options.on_row = [&](const cpu::lowp::LowpRow& r) {
      print_row(r);
      csv.write(to_row(r, cpu_name));
    };
    cpu::lowp::run_lowp_benchmarks(options, timer);
    csv.sync();
    fmt::print("\nwrote {}\n", o->output);
    // The FC training rows drawn: every dtype's loss curve, and speed against accuracy.
    analysis::PlotJob job;
    job.kind = "lowp_training";
    job.data = {o->output};
    job.output = std::filesystem::path(o->output).replace_extension("").string() + ".training";
    job.title = "FC training in f32, bf16, INT16 DFP and Hadamard 4-bit";
    job.options["context"] = cpu_name;
    const analysis::PlotOutcome p = analysis::draw_plots({job}, job.output + ".plot.json");
    fmt::print("{}\n", p.drawn ? "plot: " + job.output + ".png" : "no plot: " + p.message);
  });
}

}  // namespace paradnn::cli
