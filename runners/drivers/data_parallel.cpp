#include "runners/drivers/data_parallel.hpp"

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
#include "paradnn/graph_builder.hpp"
#include "platforms/model/scaling_model.hpp"
#include "platforms/registry.hpp"
#include "runners/harness/point_loop.hpp"
#include "runners/harness/result_row.hpp"
#include "runners/harness/timing.hpp"

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
int threads_per_rank(int requested, int physical_cores) {
  if (requested > 0) return requested;
  int local = 1;
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"})
    if (const char* s = std::getenv(v)) {
      local = std::max(1, std::atoi(s));
      break;
    }
  return std::max(1, physical_cores / local);
}

std::string dp_repro(const SweepOptions& o, const DataParallelRun& dp, const Point& p, int ranks) {
  std::string f = "family==" + p.family;
  for (const auto& [k, v] : p.hp) f += "," + k + "==" + to_string(v);
  f += fmt::format(",mode=={},dtype=={},batch=={}", to_string(p.mode), to_string(p.dtype), p.batch);
  return fmt::format("mpirun -np {} paradnn run {} --data-parallel {}{} --filter '{}' -o repro.csv --force", ranks,
                     o.config_path, dp.scaling, dp.allreduce.overlap ? "" : " --no-overlap", f);
}

// Every rank learns whether every rank got here: a rank that failed alone (out of memory
// while preparing) must not leave the others waiting in a collective.
void agree(bool ok, const std::string& what) {
  int all = ok ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all) throw std::runtime_error(what + " failed on at least one rank");
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

SweepSummary run_on_every_rank(const SweepOptions& o, const DataParallelRun& dp) {
  if (dp.scaling != "strong" && dp.scaling != "weak")
    throw InputError("--data-parallel '" + dp.scaling + "': expected strong or weak");
  if (o.pools > 1 || !o.shard.empty() || o.max_batch)
    throw InputError("--data-parallel takes none of --pools, --shard, --max-batch");
  start_mpi();
  const int rank = mpi_rank(), ranks = comm_size(MPI_COMM_WORLD);
  const Config config = load_config(o.config_path, models::catalog());
  std::unique_ptr<Backend> backend = make_backend(o.backend, {});
  if (auto why = backend->unavailable()) throw InputError("backend " + o.backend + " cannot run here: " + *why);
  LoopOptions lo = LoopOptions::of(o.config_path, o.output, fmt::format("{{}}-dp{}-{}.csv", ranks, dp.scaling), o.filter,
                                   o.resume, o.force);
  lo.write = rank == 0;
  lo.progress = o.progress;
  lo.before_writing = [] { MPI_Barrier(MPI_COMM_WORLD); };  // every rank has read the output before rank 0 writes
  PointLoop loop(config, lo);

  SweepSummary s;
  s.output = loop.output();
  RunContext ctx;
  ctx.run_id = loop.run_id();
  MPI_Bcast(ctx.run_id.data(), static_cast<int>(ctx.run_id.size()), MPI_CHAR, 0, MPI_COMM_WORLD);
  ctx.config_path = o.config_path;
  ctx.backend_name = backend->name();
  ctx.output = s.output;
  ctx.platform = backend->platform();
  ctx.intra_threads = threads_per_rank(o.threads, ctx.platform.cores);
  ctx.settings = {ctx.intra_threads, 1, parse_affinity(o.affinity)};
  if (rank == 0 && o.ceilings) ctx.ceilings = backend->ceilings(o.platform_file);
  MPI_Barrier(MPI_COMM_WORLD);

  const auto global_point = [&](const Point& p) {
    Point global = p;
    global.batch = dp.scaling == "strong" ? p.batch : p.batch * ranks;
    return global;
  };
  PointTask task;
  task.columns = result_columns();
  task.key = [&](const GridEntry& e) { return global_point(e.point).key(); };
  task.describe = [&](const GridEntry& e) {
    Row r = base_row(ctx, global_point(e.point), nullptr);
    r["ranks"] = std::to_string(ranks);
    r["scaling"] = dp.scaling;
    r["repro"] = dp_repro(o, dp, e.point, ranks);
    return r;
  };
  task.run = [&](const GridEntry& e) -> std::vector<Row> {
    const Point& p = e.point;
    const Point global = global_point(p);
    Point local = p;
    local.batch = dp.scaling == "strong" ? p.batch / ranks : p.batch;
    Row row = task.describe(e);
    std::string why;
    if (p.mode != Mode::train) why = "data-parallel runs train points only";
    else if (dp.scaling == "strong" && p.batch % ranks != 0)
      why = fmt::format("strong scaling: batch {} does not split over {} ranks", p.batch, ranks);
    if (!why.empty()) {
      set_status(row, Status::skipped, why);
      return {row};
    }
    const Graph gg = build_graph(global, models::catalog()), gl = build_graph(local, models::catalog());
    const Row described = row;
    row = base_row(ctx, global, &gg);
    for (const char* k : {"ranks", "scaling", "repro"}) row[k] = described.at(k);
    if (auto no = backend->cannot_run(gl, Mode::train)) {
      set_status(row, Status::skipped, *no);
      return {row};
    }
    // The single node: rank 0 alone at the batch one node would run without the others.
    double single = 0;
    if (rank == 0) {
      const auto base = backend->prepare(build_graph(p, models::catalog()), Mode::train, ctx.settings);
      // A device-clocked step only enqueues its work: step_seconds() waits for it at its end,
      // as the data-parallel step does, so the host clock times both the same way.
      const bool device = base->clock() == Clock::device;
      single = timed_loop([&] { device ? (void)base->step_seconds() : base->step(); }, config.run, MPI_COMM_SELF).median_s;
    }
    MPI_Bcast(&single, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    std::unique_ptr<DataParallelExecutable> exe;
    std::string failure;
    try {
      exe = backend->prepare_data_parallel(gl, ctx.settings, dp.allreduce);
    } catch (const std::exception& err) {
      failure = err.what();
    }
    agree(failure.empty(), "preparing the data-parallel step" + (failure.empty() ? "" : " (" + failure + ")"));
    const Measurement compute = timed_loop([&] { exe->local_step(); }, config.run, MPI_COMM_WORLD);
    const double comm = timed_loop([&] { exe->reduce_only(); }, config.run, MPI_COMM_WORLD).median_s;
    const Measurement m = timed_loop([&] { exe->step(); }, config.run, MPI_COMM_WORLD);
    s.timed_s += m.timed_s;
    fill_measurement(row, ctx, global, gg, m);
    row["loss"] = format_number(exe->loss());
    row["kernels"] = exe->kernels();
    row["comm_s"] = format_number(comm);
    row["overlap_fraction"] =
        format_number(comm > 0 ? std::clamp((compute.median_s + comm - m.median_s) / comm, 0.0, 1.0) : 0);
    const double eff = dp.scaling == "strong" ? single / (ranks * m.median_s) : single / m.median_s;
    row["scaling_efficiency"] = format_number(eff);
    set_status(row, Status::ok);
    row["reason"] = fmt::format("{} gradient bucket(s), {:.3g} MB; single-node step {:.4g} s; per-rank step without "
                                "communication {:.4g} s",
                                exe->buckets(), exe->gradient_bytes() / 1e6, single, compute.median_s);
    return {row};
  };
  ManifestInfo m = describe_run(fmt::format("mpirun -np {} paradnn run {} --data-parallel {}", ranks, o.config_path, dp.scaling),
                                *backend, ctx.settings, config.run);
  m.method = "a fixed-count loop per repetition, counts agreed by all ranks; each repetition's time is the slowest rank's";
  if (ctx.ceilings) m.ceilings = "platform file";
  static_cast<LoopSummary&>(s) = loop.run(task, m);
  return s;
}

}  // namespace

SweepSummary run_data_parallel(const SweepOptions& o, const DataParallelRun& dp) {
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
    a.busbw = model::bus_bandwidth(a.algbw, ranks);
    a.method = "mpi:MPI_Allreduce";
    out.push_back(a);
  }
  return out;
}

std::vector<AllreduceSample> measure_backend_allreduce(Backend& backend, const std::vector<double>& sizes_bytes,
                                                       int repetitions) {
  start_mpi();
  const int ranks = comm_size(MPI_COMM_WORLD);
  constexpr int64_t kClasses = 16;  // weights = features x classes f32 values, no bias
  std::vector<AllreduceSample> out;
  for (double bytes : sizes_bytes) {
    const int64_t features = std::max<int64_t>(1, static_cast<int64_t>(bytes / (4.0 * kClasses)));
    GraphBuilder b("allreduce", "allreduce-probe", 1, DType::f32, Optimizer::sgd);
    b.softmax_xent(b.dense(b.input({1, features}), kClasses, "w", false));
    const Graph g = b.finish();
    DataParallelOptions o;
    o.overlap = true;
    o.bucket_bytes = 1e18;  // one bucket: one all-reduce of the whole gradient
    std::unique_ptr<DataParallelExecutable> exe;
    std::string failure;
    try {
      exe = backend.prepare_data_parallel(g, Settings{}, o);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    agree(failure.empty(), "preparing the " + backend.name() + " all-reduce" + (failure.empty() ? "" : " (" + failure + ")"));
    RunOptions run;
    run.warmup_s = 0.02;
    run.min_time_s = 0.02;
    run.repetitions = repetitions;
    const Measurement m = timed_loop([&] { exe->reduce_only(); }, run, MPI_COMM_WORLD);
    AllreduceSample a;
    a.ranks = ranks;
    a.bytes = exe->gradient_bytes();
    a.seconds = m.min_s;
    a.algbw = a.bytes / a.seconds;
    a.busbw = model::bus_bandwidth(a.algbw, ranks);
    // The backend names its communication last in kernels() ("NCCL 2.28.3 ncclAllReduce(avg) ...").
    const std::string k = exe->kernels();
    const size_t cut = k.rfind("; ");
    a.method = backend.name() + ":" + (cut == std::string::npos ? "data-parallel all-reduce" : k.substr(cut + 2));
    out.push_back(a);
  }
  return out;
}

}  // namespace paradnn
