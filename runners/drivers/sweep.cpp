#include "runners/drivers/sweep.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/registry.hpp"
#include "runners/drivers/batch_search.hpp"
#include "runners/drivers/precision_point.hpp"
#include "runners/drivers/settings_file.hpp"
#include "runners/harness/json_output.hpp"
#include "runners/harness/manifest.hpp"
#include "runners/harness/memory_probe.hpp"
#include "runners/harness/result_row.hpp"
#include "runners/harness/resume_repair.hpp"

namespace paradnn {

namespace {

// The memory a point may use: --memory-budget, else the config's share of the memory the
// backend's process has available now; nullopt where the backend's memory is not the process's.
class MemoryBudget {
 public:
  MemoryBudget(const std::string& flag, double fraction) : fraction_(fraction) {
    if (flag.empty()) return;
    const auto b = parse_number(flag);
    if (!b || *b <= 0) throw InputError("--memory-budget '" + flag + "': expected a size such as 20GiB");
    override_ = *b;
  }
  std::optional<double> bytes(const Backend& b) const {
    if (override_ > 0) return override_;
    if (const auto available = b.host_memory_available()) return *available * fraction_;
    return std::nullopt;
  }
  std::string source() const {
    return override_ > 0 ? "--memory-budget" : fmt::format("{:.0f}% of available memory", fraction_ * 100);
  }

 private:
  double fraction_, override_ = 0;
};

// The largest batch whose memory estimate fits `budget` (at least 1), with its estimate.
void fit_batch(GridEntry& e, double budget) {
  Point q = e.point;
  const int64_t b = largest_batch(
      [&](int64_t batch) {
        q.batch = batch;
        return build_graph(q, models::catalog()).memory(q.mode).total();
      },
      budget);
  e.point.batch = std::max<int64_t>(b, 1);
  e.memory_bytes = build_graph(e.point, models::catalog()).memory(e.point.mode).total();
}

const std::vector<std::string>& rep_columns() {
  static const std::vector<std::string> c{"run_id", "point_key", "repetition", "time_per_step_s"};
  return c;
}

// One row per repetition, so that the summary columns can be checked against the values.
void write_rep_rows(CsvWriter& out, const std::string& run_id, const std::string& key, const std::vector<double>& times) {
  for (size_t i = 0; i < times.size(); ++i)
    out.write({{"run_id", run_id}, {"point_key", key}, {"repetition", std::to_string(i + 1)},
               {"time_per_step_s", format_number(times[i])}});
}

}  // namespace

SweepSummary run_sweep(const SweepOptions& o) {
  const Config config = load_config(o.config_path, models::catalog());
  std::unique_ptr<Backend> backend = make_backend(o.backend, {o.tpu_host == "this"});
  if (auto why = backend->unavailable()) throw InputError("backend " + o.backend + " cannot run here: " + *why);
  const MemoryBudget budget(o.memory_budget, config.run.memory_fraction);
  const std::optional<SettingsFile> recommended =
      o.settings_file.empty() ? std::nullopt : std::optional<SettingsFile>(load_settings_file(o.settings_file));
  // -o X.json: the rows are still appended to X.csv as each point ends (what survives a crash
  // and resumes); the JSON document is rendered from it and the manifest when the run ends.
  const bool json_named = std::filesystem::path(o.output).extension() == ".json";
  const std::string csv_output =
      json_named ? std::filesystem::path(o.output).replace_extension(".csv").string() : o.output;
  LoopOptions lo = LoopOptions::of(o.config_path, csv_output, "{}.csv", o.filter, o.resume, o.force);
  lo.shard = o.shard;
  lo.progress = o.progress;
  PointLoop loop(config, lo);

  SweepSummary s;
  s.output = loop.output();
  s.ops_output = loop.beside(".ops.csv");
  s.manifest = loop.beside(".manifest.yaml");
  s.reps_output = loop.beside(".reps.csv");
  if (o.json || json_named) s.json_output = json_named ? o.output : loop.beside(".json");

  RunContext ctx;
  ctx.run_id = loop.run_id();
  ctx.config_path = o.config_path;
  ctx.backend_name = backend->name();
  ctx.output = s.output;
  ctx.simulated = backend->simulated();
  ctx.platform = backend->platform();
  ctx.settings = {o.threads, o.pools, parse_affinity(o.affinity)};
  ctx.intra_threads = backend->threads_used(ctx.settings);
  if (o.ceilings) ctx.ceilings = backend->ceilings(o.platform_file);
  const bool host_memory = backend->host_memory_available().has_value();
  PrecisionEvaluator* precision = backend->precision();

  // Files beside the output, checked and resumed as it is.
  const auto side_file = [&](std::optional<CsvWriter>& w, const std::string& path, const std::vector<std::string>& columns) {
    if (o.resume && std::filesystem::is_regular_file(path)) repair_tail(path, inspect_tail(path, columns));
    w.emplace(path, columns, o.resume);
  };
  std::optional<CsvWriter> ops, reps;
  if (o.per_op) side_file(ops, s.ops_output, op_columns());
  side_file(reps, s.reps_output, rep_columns());

  // Settings may differ per point (--settings): its context.
  const auto context_of = [&](const Point& p) {
    RunContext c = ctx;
    if (recommended)
      if (const auto st = recommended->lookup(p.family, p.batch, std::string(to_string(p.mode)))) {
        c.settings = *st;
        c.intra_threads = backend->threads_used(*st);
      }
    return c;
  };

  // A point's graph as the sweep runs it (int8: the policy decides which layers are int8).
  const auto graph_of = [&](const Point& p) {
    Graph g = build_graph(p, models::catalog());
    apply_precision_policy(g, config.quant);
    return g;
  };

  PointTask task;
  task.columns = result_columns();
  task.measures = !backend->simulated();  // a model's rows have no load to guard
  // A failure row (the point loop's) keeps the analytic columns wherever the graph builds.
  task.describe = [&](const GridEntry& e) {
    try {
      const Graph g = graph_of(e.point);
      return base_row(context_of(e.point), e.point, &g);
    } catch (const std::exception&) {
      return base_row(context_of(e.point), e.point, nullptr);
    }
  };
  if (o.max_batch)
    task.settle = [&](GridEntry& e) {
      const std::optional<double> limit = budget.bytes(*backend);
      if (!limit) throw InputError("--max-batch: the " + backend->name() + " backend has no memory budget; pass --memory-budget");
      fit_batch(e, *limit);
    };
  std::vector<double> rep_times;  // of the point in flight, written once its row is
  task.written = [&](const GridEntry& e) {
    write_rep_rows(*reps, ctx.run_id, e.point.key(), rep_times);
    rep_times.clear();
  };
  task.run = [&](const GridEntry& e) -> std::vector<Row> {
    rep_times.clear();
    const std::optional<double> limit = budget.bytes(*backend);
    const Point& p = e.point;
    const RunContext pctx = context_of(p);
    // What throws from here becomes the point loop's skipped (Unsupported) or failed row.
    Graph g = graph_of(p);
    Row row = base_row(pctx, p, &g);
    std::optional<std::string> why = backend->cannot_run(g, p.mode);
    if (!why && host_memory && limit && e.memory_bytes > *limit)
      why = fmt::format("estimated memory {:.2f} GiB exceeds the budget of {:.2f} GiB ({})", e.memory_bytes / (1 << 30),
                        *limit / (1 << 30), budget.source());
    if (why) {
      set_status(row, Status::skipped, *why);
      return {row};
    }
    if (precision) calibrate_point(*precision, g, p, config.quant);  // int8 activation scales, before prepare
    const PeakMemory memory;  // prepare and timing together: the point's footprint
    const auto exe = backend->prepare(g, p.mode, pctx.settings);
    const Measurement meas = time_steps(*exe, config.run, p.key());
    s.timed_s += meas.timed_s;
    fill_measurement(row, pctx, p, g, meas);
    rep_times = meas.rep_times;
    if (exe->clock() == Clock::model) row["bound"] = exe->bound();  // the model's binding ceiling
    if (p.mode == Mode::train) row["loss"] = format_number(exe->loss());
    row["kernels"] = exe->kernels();
    if (const auto peak = memory.peak_bytes(); peak && host_memory) row["memory_measured_bytes"] = format_number(*peak);
    if (precision) fill_fidelity(*precision, row, g, p, config.quant);  // reduced-precision inference rows
    set_status(row, Status::ok);
    if (ops) write_op_rows(*ops, row, g, *exe, meas, pctx);
    return {row};
  };
  ManifestInfo m = describe_run(o.command_line, *backend, ctx.settings, config.run);
  m.ceilings = ctx.ceilings ? "platform file" : "none (peak columns empty)";
  static_cast<LoopSummary&>(s) = loop.run(task, m);
  if (ops) ops->sync();
  reps->sync();
  if (!s.json_output.empty()) write_results_json(s.output, s.manifest, s.json_output);
  return s;
}

}  // namespace paradnn
