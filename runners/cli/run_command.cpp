// `paradnn run CONFIG`: run a sweep and write one CSV row per point.
#include <fmt/core.h>

#include "runners/cli/commands.hpp"
#include "runners/drivers/data_parallel.hpp"
#include "runners/drivers/sweep.hpp"

namespace paradnn::cli {

namespace {

void print_counts(const SweepSummary& s) {
  fmt::print("{} points: {} ok, {} skipped, {} failed{}\n", s.ok + s.skipped + s.failed, s.ok, s.skipped, s.failed,
             s.already_done ? fmt::format(", {} already in the file (--resume)", s.already_done) : "");
}

}  // namespace

void add_run(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  auto quiet = std::make_shared<bool>(false);
  auto dp = std::make_shared<DataParallelRun>();
  auto bucket_mb = std::make_shared<double>(2.0);
  CLI::App* cmd = app.add_subcommand("run", "Run a sweep: one CSV row per grid point, flushed as each point ends");
  cmd->add_option("config", o->config_path, "Sweep YAML, e.g. configs/quick.yaml")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", o->output, "Results CSV (default results/<config name>.csv)");
  cmd->add_option("--backend", o->backend, "cpu, cuda, torch, or tpu:GEN[-N] (e.g. tpu:v3-8)")->capture_default_str();
  cmd->add_option("--tpu-host", o->tpu_host, "tpu backends: host figures from the spec, or measured on this machine")
      ->check(CLI::IsMember({"spec", "this"}))
      ->capture_default_str();
  cmd->add_option("--filter", o->filter, "Only points matching, e.g. 'family==fc,nodes<=1024'");
  cmd->add_option("--threads", o->threads, "Intra-op threads (default: all physical cores)")->check(CLI::Range(0, 4096));
  cmd->add_option("--pools", o->pools, "Inter-op pools: concurrent model instances, each with --threads threads")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--affinity", o->affinity, "Thread placement: none, close or spread")
      ->check(CLI::IsMember({"none", "close", "spread"}));
  cmd->add_option("--settings", o->settings_file, "Recommended settings from paradnn tune (per family and batch)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--shard", o->shard, "Run shard i of n (i/n), balanced by estimated cost; mpi = rank/size from mpirun");
  cmd->add_option("--platform", o->platform_file, "Platform file with measured ceilings (default: probe once, cached)");
  cmd->add_flag("--no-ceilings", [o](int64_t) { o->ceilings = false; }, "Leave peak, utilization and bound empty (no probe)");
  cmd->add_flag("--max-batch", o->max_batch, "Run each point at the largest batch whose memory estimate fits the budget");
  cmd->add_option("--memory-budget", o->memory_budget, "Memory budget, e.g. 20GiB (default: memory_fraction of available memory)");
  cmd->add_flag("--resume", o->resume, "Run only the points the output file lacks");
  cmd->add_flag("--force", o->force, "Overwrite an existing output file");
  cmd->add_flag("--per-op", o->per_op, "Also write per-op times to <output>.ops.csv");
  cmd->add_flag("--json", o->json, "Also write the rows and manifest as one JSON document, <output>.json (as -o X.json does)");
  cmd->add_flag("-q,--quiet", *quiet, "No progress (a bar on a terminal, a line per point elsewhere)");
  cmd->add_option("--data-parallel", dp->scaling,
                  "Under mpirun: train on every rank with gradients all-reduced; strong = batch/R per rank, weak = batch")
      ->check(CLI::IsMember({"strong", "weak"}));
  cmd->add_flag("--no-overlap", [dp](int64_t) { dp->allreduce.overlap = false; },
                "--data-parallel: one blocking all-reduce after backward instead of per-bucket overlap");
  cmd->add_option("--bucket-mb", *bucket_mb, "--data-parallel: gradient bucket size in MiB")->capture_default_str();
  cmd->callback([o, quiet, dp, bucket_mb]() {
    if (o->resume && o->force) throw CLI::ValidationError("--resume and --force exclude each other");
    o->progress = !*quiet;
    o->command_line = "paradnn run " + o->config_path;
    if (!dp->scaling.empty()) {
      dp->allreduce.bucket_bytes = *bucket_mb * (1 << 20);
      const SweepSummary s = run_data_parallel(*o, *dp);
      if (mpi_rank() == 0) {
        print_counts(s);
        fmt::print("wall time {:.1f} s\nresults: {}\n", s.wall_s, s.output);
      }
      return;
    }
    const SweepSummary s = run_sweep(*o);
    print_counts(s);
    fmt::print("wall time {:.1f} s, timed regions {:.1f} s ({:.0f}%)\n", s.wall_s, s.timed_s,
               s.wall_s > 0 ? 100 * s.timed_s / s.wall_s : 0);
    fmt::print("results: {}\nrepetitions: {}\nmanifest: {}\n", s.output, s.reps_output, s.manifest);
    if (o->per_op) fmt::print("per-op: {}\n", s.ops_output);
    if (!s.json_output.empty()) fmt::print("json: {}\n", s.json_output);
  });
}

}  // namespace paradnn::cli
