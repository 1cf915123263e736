#include "runners/sweep.hpp"

#include <fmt/core.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <set>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/cpu/cpu_platform.hpp"
#include "platforms/registry.hpp"
#include "runners/batch_search.hpp"
#include "runners/memory_probe.hpp"
#include "runners/pool_executor.hpp"
#include "runners/precision_point.hpp"
#include "runners/progress.hpp"
#include "runners/result_row.hpp"
#include "runners/settings_file.hpp"

namespace paradnn {

namespace {

std::atomic<bool> g_stop{false};

// First Ctrl-C: finish the point in flight, then stop. Second: the default (terminate).
void on_interrupt(int) {
  g_stop = true;
  std::signal(SIGINT, SIG_DFL);
}

std::string new_run_id() {
  std::random_device rd;
  return utc_now().substr(0, 10) + "-" + fmt::format("{:08x}", rd());
}

// "mpi": rank and size from the launcher's environment (Open MPI, MPICH/PMI, srun).
std::pair<int, int> mpi_shard() {
  for (const auto& [rank, size] : {std::pair{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                   std::pair{"PMI_RANK", "PMI_SIZE"}, std::pair{"SLURM_PROCID", "SLURM_NTASKS"}})
    if (const char* r = std::getenv(rank))
      if (const char* n = std::getenv(size)) return {std::atoi(r) + 1, std::atoi(n)};
  throw InputError("--shard mpi: no MPI rank in the environment (run under mpirun or srun)");
}

std::pair<int, int> parse_shard(const std::string& s) {
  if (s == "mpi") return mpi_shard();
  int i = 0, n = 0;
  char slash = 0;
  std::istringstream in(s);
  if (!(in >> i >> slash >> n) || slash != '/' || n < 1 || i < 1 || i > n)
    throw InputError("--shard '" + s + "': expected i/n with 1 <= i <= n, e.g. 2/4");
  return {i, n};
}

void write_manifest(const std::string& path, const SweepOptions& o, const Config& c, const RunContext& ctx,
                    size_t points) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "run_id" << YAML::Value << ctx.run_id;
  y << YAML::Key << "started_utc" << YAML::Value << utc_now();
  y << YAML::Key << "command" << YAML::Value << o.command_line;
  y << YAML::Key << "backend" << YAML::Value << ctx.backend_name;
  y << YAML::Key << "source" << YAML::Value << (ctx.simulated ? "simulated" : "measured");
  y << YAML::Key << "points" << YAML::Value << points;
  y << YAML::Key << "machine" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "device_name" << YAML::Value << ctx.platform.device_name;
  y << YAML::Key << "isa" << YAML::Value << ctx.platform.isa;
  y << YAML::Key << "cores" << YAML::Value << ctx.platform.cores;
  y << YAML::Key << "sockets" << YAML::Value << ctx.platform.sockets;
  y << YAML::Key << "hardware_threads" << YAML::Value << ctx.platform.hardware_threads;
  y << YAML::Key << "memory_bytes" << YAML::Value << ctx.platform.memory_bytes;
  y << YAML::EndMap;
  y << YAML::Key << "versions" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : ctx.platform.versions) y << YAML::Key << k << YAML::Value << v;
  y << YAML::Key << "compiler" << YAML::Value << __VERSION__;
  y << YAML::Key << "paradnn" << YAML::Value << PARADNN_VERSION;
  y << YAML::EndMap;
  y << YAML::Key << "settings" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "intra_threads" << YAML::Value << ctx.intra_threads;
  y << YAML::Key << "inter_pools" << YAML::Value << ctx.settings.inter_pools;
  y << YAML::Key << "affinity" << YAML::Value << std::string(to_string(ctx.settings.affinity));
  for (const char* env : {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "ONEDNN_MAX_CPU_ISA"})
    if (const char* v = std::getenv(env)) y << YAML::Key << env << YAML::Value << v;
  y << YAML::EndMap;
  y << YAML::Key << "method" << YAML::Value
    << fmt::format("Google Benchmark: warm-up {} s, {} repetitions of at least {} s each, hot caches; "
                   "median, p10, p90 and min of the per-repetition mean step time",
                   c.run.warmup_s, c.run.repetitions, c.run.min_time_s);
  y << YAML::Key << "ceilings" << YAML::Value << (ctx.ceilings ? "platform file" : "none (peak columns empty)");
  y << YAML::Key << "config_path" << YAML::Value << c.path;
  y << YAML::Key << "config" << YAML::Value << YAML::Literal << c.text;
  y << YAML::EndMap;
  std::ofstream(path) << y.c_str() << "\n";
}

std::set<std::string> done_keys(const std::string& path) {
  std::set<std::string> keys;
  if (!std::filesystem::exists(path)) return keys;
  for (const Row& r : read_results(path).rows) keys.insert(r.at("point_key"));
  return keys;
}


}  // namespace

double estimated_point_seconds(const GridEntry& e, const RunOptions& run, double flops_per_s) {
  const double step = e.flops_per_step / flops_per_s;
  return run.warmup_s + run.repetitions * std::max(run.min_time_s, step) + 3 * step;
}

std::vector<GridEntry> shard_points(const std::vector<GridEntry>& points, int i, int n) {
  std::vector<size_t> order(points.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  // Largest first, ties by key, so every shard computes the same assignment.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (points[a].flops_per_step != points[b].flops_per_step) return points[a].flops_per_step > points[b].flops_per_step;
    return points[a].point.key() < points[b].point.key();
  });
  std::vector<double> load(static_cast<size_t>(n), 0.0);
  std::vector<bool> mine(points.size(), false);
  const RunOptions run;
  for (size_t k : order) {
    const size_t s = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[s] += estimated_point_seconds(points[k], run, 1e11);
    mine[k] = static_cast<int>(s) == i - 1;
  }
  std::vector<GridEntry> out;
  for (size_t k = 0; k < points.size(); ++k)
    if (mine[k]) out.push_back(points[k]);  // keep config order within a shard
  return out;
}

std::vector<GridEntry> select_points(const Config& config, const std::string& filter, const std::string& shard) {
  std::vector<GridEntry> all = expand(config, models::catalog());
  if (!filter.empty()) {
    const Filter f = Filter::parse(filter);
    std::vector<GridEntry> kept;
    for (const GridEntry& e : all)
      if (f.matches([&](const std::string& n) { return point_field(e.point, &e, n); })) kept.push_back(e);
    all = std::move(kept);
  }
  if (shard.empty()) return all;
  const auto [i, n] = parse_shard(shard);
  return shard_points(all, i, n);
}

SweepSummary run_sweep(const SweepOptions& o) {
  const Config config = load_config(o.config_path, models::catalog());
  const std::vector<GridEntry> points = select_points(config, o.filter, o.shard);
  std::unique_ptr<Backend> backend = make_backend(o.backend, {o.tpu_host == "this"});
  if (auto why = backend->unavailable()) throw InputError("backend " + o.backend + " cannot run here: " + *why);

  SweepSummary s;
  const std::string stem = config.name.empty() ? std::filesystem::path(o.config_path).stem().string() : config.name;
  s.output = o.output.empty() ? "results/" + stem + ".csv" : o.output;
  s.ops_output = std::filesystem::path(s.output).replace_extension(".ops.csv").string();
  s.manifest = std::filesystem::path(s.output).replace_extension(".manifest.yaml").string();
  if (std::filesystem::exists(s.output) && !o.resume && !o.force)
    throw InputError(s.output + " exists: pass --resume to run the points it lacks, --force to overwrite, or -o another file");
  const std::set<std::string> done = o.resume ? done_keys(s.output) : std::set<std::string>{};

  RunContext ctx;
  ctx.run_id = new_run_id();
  ctx.config_path = o.config_path;
  ctx.backend_name = backend->name();
  ctx.output = s.output;
  ctx.simulated = backend->simulated();
  ctx.platform = backend->platform();
  const bool on_cpu = ctx.platform.platform == "cpu" && !ctx.simulated;
  ctx.settings = {o.threads, o.pools, parse_affinity(o.affinity)};
  ctx.intra_threads = on_cpu ? (o.threads > 0 ? o.threads : cpu::physical_cores()) : 0;
  const std::optional<SettingsFile> recommended =
      o.settings_file.empty() ? std::nullopt : std::optional<SettingsFile>(load_settings_file(o.settings_file));
  if (o.ceilings) ctx.ceilings = platform_ceilings(*backend, o.platform_file);

  write_manifest(s.manifest, o, config, ctx, points.size());
  CsvWriter out(s.output, result_columns(), o.resume);
  std::optional<CsvWriter> ops;
  if (o.per_op) ops.emplace(s.ops_output, op_columns(), o.resume);

  g_stop = false;
  std::signal(SIGINT, on_interrupt);
  const auto t0 = std::chrono::steady_clock::now();
  Progress bar(points.size(), o.progress && isatty(STDERR_FILENO));
  double budget_override = 0;
  if (!o.memory_budget.empty()) {
    const auto b = parse_number(o.memory_budget);
    if (!b || *b <= 0) throw InputError("--memory-budget '" + o.memory_budget + "': expected a size such as 20GiB");
    budget_override = *b;
  }
  for (GridEntry e : points) {
    if (g_stop) {
      s.interrupted = true;
      break;
    }
    const double budget =
        budget_override > 0 ? budget_override : cpu::available_memory_bytes() * config.run.memory_fraction;
    if (o.max_batch) {
      Point q = e.point;
      const int64_t b = largest_batch(
          [&](int64_t batch) {
            q.batch = batch;
            return build_graph(q, models::catalog()).memory(q.mode).total();
          },
          budget);
      e.point.batch = std::max<int64_t>(b, 1);
      const Graph g = build_graph(e.point, models::catalog());
      e.memory_bytes = g.memory(e.point.mode).total();
    }
    const Point& p = e.point;
    bar.start(p.key());
    if (done.count(p.key())) {
      ++s.already_done;
      bar.finish();
      continue;
    }
    RunContext pctx = ctx;  // settings may differ per point
    if (recommended)
      if (const auto st = recommended->lookup(p.family, p.batch)) {
        pctx.settings = *st;
        pctx.intra_threads = st->intra_threads > 0 ? st->intra_threads : cpu::physical_cores();
      }
    Row row = base_row(pctx, p, nullptr);
    try {
      Graph g = build_graph(p, models::catalog());
      apply_precision_policy(g, config.quant);  // int8: which layers compute in int8
      row = base_row(pctx, p, &g);
      std::optional<std::string> why = backend->cannot_run(g, p.mode);
      if (!why && !ctx.simulated && ctx.platform.platform == "cpu" && e.memory_bytes > budget)
        why = fmt::format("estimated memory {:.2f} GiB exceeds the budget of {:.2f} GiB ({})", e.memory_bytes / (1 << 30),
                          budget / (1 << 30),
                          budget_override > 0 ? "--memory-budget"
                                              : fmt::format("{:.0f}% of available memory", config.run.memory_fraction * 100));
      if (why) {
        row["status"] = "skipped";
        row["reason"] = *why;
      } else {
        if (on_cpu) calibrate_point(g, p, config.quant);  // int8 activation scales, before prepare
        const PeakMemory memory;  // prepare and timing together: the point's footprint
        const auto exe = on_cpu ? prepare_with_settings(*backend, g, p.mode, pctx.settings)
                                : backend->prepare(g, p.mode, pctx.settings);
        Measurement m;
        if (const auto pred = exe->predicted()) {
          m.median_s = m.p10_s = m.p90_s = m.min_s = pred->seconds;
          row["bound"] = pred->bound;
        } else {
          m = time_steps(*exe, config.run, p.key());
          s.timed_s += m.timed_s;
        }
        fill_measurement(row, pctx, p, g, m);
        if (ctx.simulated && exe->predicted()) row["bound"] = exe->predicted()->bound;
        if (p.mode == Mode::train) row["loss"] = format_number(exe->loss());
        row["kernels"] = exe->kernels();
        if (const auto peak = memory.peak_bytes(); peak && !ctx.simulated && on_cpu)
          row["memory_measured_bytes"] = format_number(*peak);
        if (on_cpu) fill_fidelity(row, g, p, config.quant);  // reduced-precision inference rows
        row["status"] = "ok";
        if (ops) write_op_rows(*ops, row, g, *exe, m, pctx);
      }
    } catch (const Unsupported& err) {
      row["status"] = "skipped";
      row["reason"] = err.what();
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& err) {
      row["status"] = "failed";
      row["reason"] = err.what();
    }
    out.write(row);
    const std::string& st = row["status"];
    (st == "ok" ? s.ok : st == "skipped" ? s.skipped : s.failed)++;
    bar.finish();
  }
  std::signal(SIGINT, SIG_DFL);
  bar.done();
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

}  // namespace paradnn
