#include "runners/data_parallel.hpp"

#include <fmt/core.h>
#include <mpi.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/cpu/cpu_platform.hpp"
#include "platforms/cpu/onednn_executable.hpp"
#include "platforms/cpu/onednn_gradient_allreduce.hpp"
#include "platforms/registry.hpp"
#include "runners/result_row.hpp"
#include "runners/timing.hpp"

namespace paradnn {

namespace {

void start_mpi() {
  int up = 0;
  MPI_Initialized(&up);
  if (up) return;
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  std::atexit([] {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
  });
}

int comm_size(MPI_Comm c) {
  int n = 1;
  MPI_Comm_size(c, &n);
  return n;
}

double max_over(MPI_Comm c, double v) {
  double m = v;
  MPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_MAX, c);
  return m;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A fixed-count timing loop every rank of `comm` runs in step: warm-up, then repetitions of
// n calls (n agreed from the slowest rank's warm-up), each repetition's mean per call taken
// from the slowest rank.
Measurement timed_loop(const std::function<void()>& fn, const RunOptions& run, MPI_Comm comm) {
  // Every count here is agreed across ranks: a collective called a different number of
  // times on different ranks would pair with the wrong partner or hang.
  auto t0 = std::chrono::steady_clock::now();
  fn();
  const double first = max_over(comm, seconds_since(t0));
  const long long warm = std::clamp<long long>(static_cast<long long>(std::ceil(run.warmup_s / first)), 1, 1000);
  t0 = std::chrono::steady_clock::now();
  for (long long i = 0; i < warm; ++i) fn();
  const double per_call = max_over(comm, seconds_since(t0) / static_cast<double>(warm));
  const long long n = std::clamp<long long>(static_cast<long long>(std::ceil(run.min_time_s / per_call)), 1, 100000);
  Measurement m;
  m.iterations = n;
  std::vector<double> reps;
  for (int r = 0; r < std::max(1, run.repetitions); ++r) {
    MPI_Barrier(comm);
    t0 = std::chrono::steady_clock::now();
    for (long long i = 0; i < n; ++i) fn();
    const double t = seconds_since(t0);
    m.timed_s += t;
    reps.push_back(max_over(comm, t / static_cast<double>(n)));
  }
  m.repetitions = static_cast<int>(reps.size());
  m.median_s = percentile(reps, 0.5);
  m.p10_s = percentile(reps, 0.1);
  m.p90_s = percentile(reps, 0.9);
  m.min_s = *std::min_element(reps.begin(), reps.end());
  double mean = 0, var = 0;
  for (double v : reps) mean += v / reps.size();
  for (double v : reps) var += (v - mean) * (v - mean) / reps.size();
  m.cv = mean > 0 ? std::sqrt(var) / mean : 0;
  return m;
}

// Threads per rank: --threads, else this node's physical cores shared by its ranks.
int threads_per_rank(int requested) {
  if (requested > 0) return requested;
  int local = 1;
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"})
    if (const char* s = std::getenv(v)) {
      local = std::max(1, std::atoi(s));
      break;
    }
  return std::max(1, cpu::physical_cores() / local);
}

std::string dp_repro(const SweepOptions& o, const DataParallelOptions& dp, const Point& p, int ranks) {
  std::string f = "family==" + p.family;
  for (const auto& [k, v] : p.hp) f += "," + k + "==" + to_string(v);
  f += fmt::format(",mode=={},dtype=={},batch=={}", to_string(p.mode), to_string(p.dtype), p.batch);
  return fmt::format("mpirun -np {} paradnn run {} --data-parallel {}{} --filter '{}' -o repro.csv --force", ranks,
                     o.config_path, dp.scaling, dp.overlap ? "" : " --no-overlap", f);
}

}  // namespace

bool mpi_available() { return true; }

int mpi_rank() {
  start_mpi();
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

namespace {

SweepSummary run_on_every_rank(const SweepOptions& o, const DataParallelOptions& dp) {
  if (dp.scaling != "strong" && dp.scaling != "weak")
    throw InputError("--data-parallel '" + dp.scaling + "': expected strong or weak");
  if (o.backend != "cpu") throw InputError("--data-parallel runs on the cpu backend (GPU all-reduce with NCCL is not built yet)");
  if (o.pools > 1 || !o.shard.empty() || o.resume || o.max_batch)
    throw InputError("--data-parallel takes none of --pools, --shard, --resume, --max-batch");
  start_mpi();
  const int rank = mpi_rank(), ranks = comm_size(MPI_COMM_WORLD);
  const Config config = load_config(o.config_path, models::catalog());
  const std::vector<GridEntry> points = select_points(config, o.filter, "");
  std::unique_ptr<Backend> backend = make_backend("cpu", {});

  SweepSummary s;
  const std::string stem = config.name.empty() ? std::filesystem::path(o.config_path).stem().string() : config.name;
  s.output = o.output.empty() ? fmt::format("results/{}-dp{}-{}.csv", stem, ranks, dp.scaling) : o.output;
  const bool exists = std::filesystem::exists(s.output);
  MPI_Barrier(MPI_COMM_WORLD);  // every rank has looked before rank 0 creates the file
  if (exists && !o.force) throw InputError(s.output + " exists: pass --force to overwrite, or -o another file");

  RunContext ctx;
  ctx.run_id = utc_now().substr(0, 10) + fmt::format("-dp{:08x}", static_cast<unsigned>(std::hash<std::string>{}(utc_now() + s.output)));
  MPI_Bcast(ctx.run_id.data(), static_cast<int>(ctx.run_id.size()), MPI_CHAR, 0, MPI_COMM_WORLD);
  ctx.config_path = o.config_path;
  ctx.backend_name = backend->name();
  ctx.output = s.output;
  ctx.platform = backend->platform();
  ctx.intra_threads = threads_per_rank(o.threads);
  ctx.settings = {ctx.intra_threads, 1, parse_affinity(o.affinity)};
  omp_set_num_threads(ctx.intra_threads);
  if (rank == 0 && o.ceilings) ctx.ceilings = platform_ceilings(*backend, o.platform_file);
  MPI_Barrier(MPI_COMM_WORLD);

  std::optional<CsvWriter> out;
  if (rank == 0) out.emplace(s.output, result_columns(), false);
  const auto wall0 = std::chrono::steady_clock::now();
  for (const GridEntry& e : points) {
    const Point& p = e.point;
    const int64_t local_batch = dp.scaling == "strong" ? p.batch / ranks : p.batch;
    Point global = p, local = p;
    global.batch = dp.scaling == "strong" ? p.batch : p.batch * ranks;
    local.batch = local_batch;
    Row row = base_row(ctx, global, nullptr);
    row["ranks"] = std::to_string(ranks);
    row["scaling"] = dp.scaling;
    row["repro"] = dp_repro(o, dp, p, ranks);
    std::string why;
    if (p.mode != Mode::train) why = "data-parallel runs train points only";
    else if (dp.scaling == "strong" && p.batch % ranks != 0)
      why = fmt::format("strong scaling: batch {} does not split over {} ranks", p.batch, ranks);
    if (why.empty()) {
      const Graph gg = build_graph(global, models::catalog()), gl = build_graph(local, models::catalog());
      row = [&] {
        Row r = base_row(ctx, global, &gg);
        for (const char* k : {"ranks", "scaling", "repro"}) r[k] = row[k];
        return r;
      }();
      if (auto no = backend->cannot_run(gl, Mode::train)) why = *no;
      if (why.empty()) {
        // The single node: rank 0 alone at the batch one node would run without the others.
        double single = 0;
        if (rank == 0) {
          cpu::CpuExecutable base(build_graph(p, models::catalog()), Mode::train);
          single = timed_loop([&] { base.step(); }, config.run, MPI_COMM_SELF).median_s;
        }
        MPI_Bcast(&single, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        cpu::CpuExecutable exe(gl, Mode::train);
        const Measurement compute = timed_loop([&] { exe.step(); }, config.run, MPI_COMM_WORLD);
        cpu::AllreduceOptions ao;
        ao.overlap = dp.overlap;
        ao.bucket_bytes = static_cast<size_t>(dp.bucket_bytes);
        cpu::GradientAllreduce reduce(exe.net(), ao);
        const double comm = timed_loop([&] { reduce.reduce_only(); }, config.run, MPI_COMM_WORLD).median_s;
        const Measurement m = timed_loop([&] { exe.step(); }, config.run, MPI_COMM_WORLD);
        s.timed_s += m.timed_s;
        fill_measurement(row, ctx, global, gg, m);
        row["loss"] = format_number(exe.loss());
        row["kernels"] = exe.kernels();
        row["comm_s"] = format_number(comm);
        row["overlap_fraction"] =
            format_number(comm > 0 ? std::clamp((compute.median_s + comm - m.median_s) / comm, 0.0, 1.0) : 0);
        const double eff = dp.scaling == "strong" ? single / (ranks * m.median_s) : single / m.median_s;
        row["scaling_efficiency"] = format_number(eff);
        row["status"] = "ok";
        row["reason"] = fmt::format("{} gradient bucket(s), {:.3g} MB; single-node step {:.4g} s; per-rank step without "
                                    "communication {:.4g} s",
                                    reduce.buckets(), reduce.gradient_bytes() / 1e6, single, compute.median_s);
        ++s.ok;
      }
    }
    if (!why.empty()) {
      row["status"] = "skipped";
      row["reason"] = why;
      ++s.skipped;
    }
    if (out) out->write(row);
    if (rank == 0 && o.progress)
      fmt::print(stderr, "{} {} {}\n", p.key(), row["status"], row["scaling_efficiency"]);
  }
  s.wall_s = seconds_since(wall0);
  return s;
}

}  // namespace

SweepSummary run_data_parallel(const SweepOptions& o, const DataParallelOptions& dp) {
  start_mpi();
  try {
    return run_on_every_rank(o, dp);
  } catch (const std::exception& e) {
    // A rank that stops alone leaves the others waiting in a collective forever: end them all.
    fmt::print(stderr, "paradnn: rank {} of the data-parallel run: {}\n", mpi_rank(), e.what());
    MPI_Abort(MPI_COMM_WORLD, dynamic_cast<const InputError*>(&e) ? 2 : 1);
  }
  return {};
}

std::vector<AllreduceSample> measure_allreduce(const std::vector<double>& sizes_bytes, int repetitions) {
  start_mpi();
  const int ranks = comm_size(MPI_COMM_WORLD);
  std::vector<AllreduceSample> out;
  for (double bytes : sizes_bytes) {
    const auto n = static_cast<int>(std::max(1.0, bytes / sizeof(float)));
    std::vector<float> buf(static_cast<size_t>(n), 1.0f);
    RunOptions run;
    run.warmup_s = 0.02;
    run.min_time_s = 0.02;
    run.repetitions = repetitions;
    const Measurement m = timed_loop(
        [&] { MPI_Allreduce(MPI_IN_PLACE, buf.data(), n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); }, run, MPI_COMM_WORLD);
    AllreduceSample a;
    a.ranks = ranks;
    a.bytes = static_cast<double>(n) * sizeof(float);
    a.seconds = m.min_s;
    a.algbw = a.bytes / a.seconds;
    a.busbw = a.algbw * 2.0 * (ranks - 1) / ranks;
    out.push_back(a);
  }
  return out;
}

}  // namespace paradnn
