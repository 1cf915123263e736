// `paradnn roofline`: measures this CPU's ceilings (peak per dtype, bandwidth per memory level)
// and writes the platform file that `paradnn run` reads for peak, utilization and bound.
#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <set>

#include <filesystem>

#include "paradnn/error.hpp"
#include "platforms/registry.hpp"
#include "runners/cli/commands.hpp"
#include "runners/drivers/data_parallel.hpp"

namespace paradnn::cli {

namespace {

// One row per (dtype, method) or (level, kernel), one column per thread count.
template <typename Ceiling, typename Key, typename Value>
void print_table(const std::string& title, const std::vector<Ceiling>& all, Key key, Value value) {
  std::set<int> threads;
  std::vector<std::string> rows;
  std::map<std::pair<std::string, int>, std::string> cells;
  for (const Ceiling& c : all) {
    threads.insert(c.threads);
    const std::string k = key(c);
    if (std::find(rows.begin(), rows.end(), k) == rows.end()) rows.push_back(k);
    cells[{k, c.threads}] = value(c);
  }
  fmt::print("\n{:<40}", title);
  for (int t : threads) fmt::print("{:>24}", fmt::format("{} thread{}", t, t == 1 ? "" : "s"));
  fmt::print("\n");
  for (const std::string& r : rows) {
    fmt::print("  {:<38}", r);
    for (int t : threads) fmt::print("{:>24}", cells.count({r, t}) ? cells[{r, t}] : "-");
    fmt::print("\n");
  }
}

std::string rate(double per_s, double spread, const std::string& unit) {
  return fmt::format("{:.1f} {} ±{:.0f}%", per_s / 1e9, unit, 100 * spread);
}

void print_ceilings(const PlatformFile& f) {
  const PlatformInfo& m = f.machine;
  fmt::print("{} ({}), {} cores, {} socket(s), {} hardware threads\n", m.device_name, m.isa, m.cores, m.sockets,
             m.hardware_threads);
  print_table("compute (best of repetitions, spread)", f.compute,
              [](const ComputeCeiling& c) { return c.dtype + " " + c.method; },
              [](const ComputeCeiling& c) {
                const bool integer = c.dtype.rfind("int", 0) == 0;
                return rate(c.flops_per_s, c.spread, integer ? "Gop/s" : "GFLOP/s");
              });
  print_table("bandwidth", f.bandwidth, [](const BandwidthCeiling& b) { return b.level + " " + b.kernel; },
              [](const BandwidthCeiling& b) { return rate(b.bytes_per_s, b.spread, "GB/s"); });
}

// Under mpirun: all-reduce bandwidth over message sizes, merged into the platform file
// (samples for other rank counts are kept). The cpu backend reduces host buffers with
// MPI_Allreduce; another backend (cuda: NCCL, one GPU per rank) its own data-parallel
// gradient all-reduce.
void probe_allreduce(const std::string& path, Backend& backend) {
  std::vector<double> sizes;
  for (double b = 4096; b <= 64.0 * (1 << 20); b *= 4) sizes.push_back(b);
  const bool host = backend.name() == "cpu";
  const std::vector<AllreduceSample> samples = host ? measure_allreduce(sizes, 5) : measure_backend_allreduce(backend, sizes, 5);
  if (mpi_rank() != 0) return;
  PlatformFile f;
  if (std::filesystem::exists(path)) {
    f = load_platform_file(path);
  } else {
    f.machine = backend.platform();
    f.settings = "allreduce only (run paradnn roofline for compute and bandwidth ceilings)";
  }
  const int ranks = samples.empty() ? 0 : samples.front().ranks;
  std::erase_if(f.allreduce, [ranks](const AllreduceCeiling& a) { return a.ranks == ranks; });
  if (host)
    fmt::print("\nall-reduce, {} ranks (f32 sum, best of 5; nccl-tests busbw = algbw * 2(R-1)/R)\n", ranks);
  else
    fmt::print("\nall-reduce, {} ranks ({} {}: f32 gradients averaged, best of 5; nccl-tests busbw = algbw * "
               "2(R-1)/R)\n", ranks, backend.name(), samples.empty() ? "" : backend.platform().device_name);
  fmt::print("  {:>12} {:>12} {:>14} {:>14}\n", "bytes", "time_us", "algbw_GB/s", "busbw_GB/s");
  for (const AllreduceSample& a : samples) {
    f.allreduce.push_back({a.ranks, a.bytes, a.seconds, a.algbw, a.busbw, a.method});
    fmt::print("  {:>12.0f} {:>12.1f} {:>14.3f} {:>14.3f}\n", a.bytes, a.seconds * 1e6, a.algbw / 1e9, a.busbw / 1e9);
  }
  save_platform_file(f, path);
  fmt::print("\nwrote {}\n", path);
}

}  // namespace

void add_roofline(CLI::App& app) {
  struct Opts {
    std::string output, backend = "cpu";
    bool quick = false, allreduce = false;
    std::vector<int> threads;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("roofline", "Measure this machine's roofline ceilings into a platform file");
  cmd->add_option("-o,--output", o->output, "Platform file to write (default: results/platform-<device>.yaml)");
  cmd->add_option("--backend", o->backend, "Whose ceilings: cpu or cuda")->capture_default_str();
  cmd->add_flag("--quick", o->quick, "Fewer sizes and repetitions, smaller GEMM (a rougher, faster estimate)");
  cmd->add_option("--threads", o->threads, "Thread counts to measure (default: 1 and all physical cores)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--allreduce", o->allreduce,
                "Under mpirun: measure all-reduce algorithm and bus bandwidth over message sizes instead "
                "(cpu: MPI; cuda: NCCL, one GPU per rank)");
  cmd->callback([o]() {
    std::unique_ptr<Backend> backend = make_backend(o->backend);
    if (auto why = backend->unavailable()) throw InputError("backend " + o->backend + " cannot run here: " + *why);
    const std::string path = o->output.empty() ? platform_file_path(backend->platform().device_name) : o->output;
    if (o->allreduce) {
      probe_allreduce(path, *backend);
      return;
    }
    ProbeOptions options;
    options.quick = o->quick;
    options.threads = o->threads;
    options.progress = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
    const PlatformFile f = backend->measure_ceilings(options);
    save_platform_file(f, path);
    print_ceilings(f);
    fmt::print("\nwrote {}\n", path);
  });
}

}  // namespace paradnn::cli
