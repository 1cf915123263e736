// `paradnn merge` and `paradnn slurm`: sharded sweeps on the engines clusters already have.
#include <fmt/core.h>

#include <filesystem>

#include "paradnn/error.hpp"
#include "runners/cli/commands.hpp"
#include "runners/drivers/merge.hpp"
#include "runners/drivers/slurm_script.hpp"

namespace paradnn::cli {

void add_merge(CLI::App& app) {
  struct Opts {
    std::vector<std::string> inputs;
    std::string output, config;
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("merge", "Merge shard result files; list the config's points no shard produced");
  cmd->add_option("inputs", o->inputs, "Result CSVs")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", o->output, "Merged CSV")->required();
  cmd->add_option("--config", o->config, "The sweep config, to order rows and list missing points")->check(CLI::ExistingFile);
  cmd->add_flag("--force", o->force, "Overwrite the output");
  cmd->callback([o]() {
    if (std::filesystem::exists(o->output) && !o->force) throw InputError(o->output + " exists: pass --force to overwrite");
    const MergeResult m = merge_results(o->inputs, o->config);
    write_csv_file(o->output, m.header, m.rows);
    fmt::print("{} rows from {} files into {}", m.rows.size(), o->inputs.size(), o->output);
    if (m.duplicates_dropped) fmt::print(" ({} identical duplicates dropped)", m.duplicates_dropped);
    fmt::print("\n");
    if (!m.missing.empty()) {
      fmt::print("{} points of {} were produced by no shard:\n", m.missing.size(), o->config);
      for (const auto& k : m.missing) fmt::print("  {}\n", k);
    }
  });
}

void add_slurm(CLI::App& app) {
  auto o = std::make_shared<SlurmOptions>();
  auto dir = std::make_shared<std::string>(".");
  CLI::App* cmd = app.add_subcommand("slurm", "Write an sbatch job-array script (one task per shard) and a dependent merge job");
  cmd->add_option("config", o->config_path, "Sweep YAML")->required()->check(CLI::ExistingFile);
  cmd->add_option("--shards", o->shards, "Array tasks")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--partition", o->partition, "Slurm partition");
  cmd->add_option("--time", o->time, "Time limit per task")->capture_default_str();
  cmd->add_option("--cpus", o->cpus, "CPUs per task");
  cmd->add_option("--results", o->results_dir, "Where shards and the merged CSV go")->capture_default_str();
  cmd->add_option("--paradnn", o->paradnn, "Path of the paradnn program on the nodes")->capture_default_str();
  cmd->add_option("--run-args", o->extra_run_args, "Extra arguments for each shard's paradnn run");
  cmd->add_option("-d,--dir", *dir, "Where to write the scripts")->capture_default_str();
  cmd->callback([o, dir]() {
    const std::string submit = write_slurm_scripts(*o, *dir);
    fmt::print("wrote {} (and its array and merge scripts); submit with: bash {}\n", submit, submit);
  });
}

}  // namespace paradnn::cli
