#include "runners/harness/point_loop.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <random>
#include <sstream>
#include <tuple>

#include "models/catalog.hpp"
#include "paradnn/bounds.hpp"
#include "paradnn/error.hpp"
#include "paradnn/filter.hpp"
#include "runners/harness/progress.hpp"
#include "runners/harness/resume_repair.hpp"
#include "runners/harness/result_row.hpp"

namespace paradnn {

namespace {

std::atomic<bool> g_stop{false};
bool g_interrupted = false;  // a loop in this process stopped on Ctrl-C

// First Ctrl-C: finish the point in flight, then stop. Second: the default (terminate).
void on_interrupt(int) {
  g_stop = true;
  std::signal(SIGINT, SIG_DFL);
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
  int i = 0, n = 0;
  if (s == "mpi") {
    std::tie(i, n) = mpi_shard();
  } else {
    char slash = 0;
    std::istringstream in(s);
    // The whole text must be i/n: "1/2/3" is a typo, not shard 1 of 2.
    if (!(in >> i >> slash >> n) || slash != '/' || !(in >> std::ws).eof() || n < 1 || i < 1 || i > n)
      throw InputError("--shard '" + s + "': expected i/n with 1 <= i <= n, e.g. 2/4");
  }
  if (n > bounds::kMaxShards)
    throw InputError(fmt::format("--shard '{}': at most {} shards (README \"Input bounds\")", s, bounds::kMaxShards));
  return {i, n};
}

// Ctrl-C handling for the duration of a loop, however it ends.
struct InterruptHandler {
  InterruptHandler() {
    g_stop = false;
    std::signal(SIGINT, on_interrupt);
  }
  ~InterruptHandler() { std::signal(SIGINT, SIG_DFL); }
};

// Point keys among the whole rows of the output (for --resume); a file with a schema_version
// must have this one.
std::set<std::string> done_keys(const std::string& path, const CsvTail& tail) {
  std::set<std::string> keys;
  if (tail.whole.empty()) return keys;  // nothing, or only a torn header
  const CsvTable t = parse_csv(tail.whole, path, {"point_key"});
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto v = t.rows[i].find("schema_version");
    if (v != t.rows[i].end() && v->second != std::to_string(kSchemaVersion))
      throw InputError(fmt::format("{}:{}: schema_version {} (this paradnn writes {}): resume into a new file", path,
                                   t.lines[i], v->second, kSchemaVersion));
    keys.insert(t.rows[i].at("point_key"));
  }
  return keys;
}

// A failed write stops the run: the rows before it are synced and the message says how to go on.
void write_row(CsvWriter& out, const Row& row) {
  try {
    out.write(row);
  } catch (const WriteError& e) {
    try {
      out.sync();
    } catch (const WriteError&) {  // the first error is the one to report
    }
    throw WriteError(std::string(e.what()) + "; make room and rerun with --resume to finish");
  }
}

// What progress calls a point: the model, not its truncated key.
std::string progress_label(const GridEntry& e) {
  const std::string model = e.model_name.empty() ? e.point.family : e.model_name;
  return fmt::format("{} {} {} batch={}", model, to_string(e.point.mode), to_string(e.point.dtype), e.point.batch);
}

std::string row_field(const Row& row, const std::string& name) {
  const auto it = row.find(name);
  return it == row.end() ? "" : it->second;
}

}  // namespace

bool a_run_was_interrupted() { return g_interrupted; }

std::string new_run_id() {
  std::random_device rd;
  return utc_now().substr(0, 10) + "-" + fmt::format("{:08x}", rd());
}

std::string default_output(const Config& config, const std::string& config_path, const std::string& pattern) {
  const std::string stem = config.name.empty() ? std::filesystem::path(config_path).stem().string() : config.name;
  return "results/" + fmt::format(fmt::runtime(pattern), stem);
}

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
    check_filter_names(f, models::catalog(), "--filter");
    std::vector<GridEntry> kept;
    for (const GridEntry& e : all)
      if (f.matches([&](const std::string& n) { return point_field(e.point, &e, n); })) kept.push_back(e);
    // An empty selection is a mistake in the filter, not a run with nothing to do.
    if (kept.empty())
      throw InputError(fmt::format("no points match --filter '{}' ({} points in {})", filter, all.size(), config.path));
    all = std::move(kept);
  }
  if (shard.empty()) return all;
  const auto [i, n] = parse_shard(shard);
  return shard_points(all, i, n);
}

PointLoop::PointLoop(const Config& config, LoopOptions options)
    : o_(std::move(options)), config_(config), points_(select_points(config, o_.filter, o_.shard)), run_id_(new_run_id()) {
  output_ = o_.output.empty() ? default_output(config, o_.config_path, o_.default_output) : o_.output;
  if (o_.resume && o_.force) throw InputError("--resume and --force exclude each other");
  if (std::filesystem::exists(output_) && !o_.resume && !o_.force)
    throw InputError(output_ + " exists: pass --resume to run the points it lacks, --force to overwrite, or -o another file");
}

std::string PointLoop::beside(const std::string& suffix) const {
  return std::filesystem::path(output_).replace_extension(suffix).string();
}

LoopSummary PointLoop::run(const PointTask& task, ManifestInfo manifest) {
  LoopSummary s;
  // A device or pipe (-o /dev/null) has no rows to resume from.
  const CsvTail tail =
      o_.resume && std::filesystem::is_regular_file(output_) ? inspect_tail(output_, task.columns) : CsvTail{};
  const std::set<std::string> done = done_keys(output_, tail);
  if (o_.before_writing) o_.before_writing();
  std::optional<CsvWriter> out;
  if (o_.write) {
    const std::filesystem::path dir = std::filesystem::path(output_).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir);
    repair_tail(output_, tail);
    out.emplace(output_, task.columns, o_.resume);  // before the manifest: an unwritable output fails first
    manifest.run_id = run_id_;
    manifest.points = points_.size();
    write_manifest(beside(".manifest.yaml"), manifest, config_, o_.resume);
  }
  std::vector<const GridEntry*> todo;
  for (const GridEntry& e : points_)
    if (!task.wants || task.wants(e)) todo.push_back(&e);

  const InterruptHandler ctrl_c;
  const auto t0 = std::chrono::steady_clock::now();
  Progress bar(todo.size(), Progress::for_stderr(o_.progress && o_.write));
  std::vector<LoadRecord> loads;  // the busy-machine guard's, for the manifest
  for (const GridEntry* entry : todo) {
    if (g_stop) {
      s.interrupted = g_interrupted = true;
      break;
    }
    GridEntry settled = *entry;
    if (task.settle) task.settle(settled);
    const GridEntry* e = &settled;
    bar.start(progress_label(*e));
    if (done.count(task.key ? task.key(*e) : e->point.key())) {
      ++s.already_done;
      bar.finish("already in the output", "");
      continue;
    }
    std::vector<Row> rows;
    const bool guard = task.measures && !task.loads;  // the loop's own record of the load
    const LoadSample load_before = guard ? sample_load() : LoadSample{};
    try {
      rows = task.run(*e);
    } catch (const InputError&) {
      throw;
    } catch (const WriteError&) {  // a file the point writes beside the output (per-op rows)
      throw;
    } catch (const std::exception& err) {
      Row row = task.describe(*e);
      set_status(row, dynamic_cast<const Unsupported*>(&err) ? Status::skipped : Status::failed, err.what());
      rows = {row};
    }
    for (const Row& row : rows) {
      if (out) write_row(*out, row);
      const Status status = status_of(row);
      (status == Status::ok ? s.ok : status == Status::skipped ? s.skipped : s.failed)++;
    }
    if (task.loads) {
      for (LoadRecord& l : task.loads(*e)) loads.push_back(std::move(l));
    } else if (guard) {
      const LoadSample load_after = sample_load();
      loads.push_back({e->point.key(), load_before, load_after, judge_load(load_before, load_after)});
    }
    if (task.written) task.written(*e);
    const Row first = rows.empty() ? Row{} : rows.front();
    bar.finish(rows.empty() ? "no rows" : row_field(first, "status"), row_field(first, "examples_per_s"));
  }
  if (out) out->sync();  // the rows survive a power loss once the command says they are done
  if (out) end_manifest_run(beside(".manifest.yaml"), run_id_, loads);
  bar.done();
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

}  // namespace paradnn
