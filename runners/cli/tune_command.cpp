// `paradnn tune CONFIG`: sweep threading knobs, report the best per workload, write rules.
#include "runners/cli/commands.hpp"
#include "runners/drivers/tuner.hpp"

namespace paradnn::cli {

void add_tune(CLI::App& app) {
  auto o = std::make_shared<TuneOptions>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("tune", "Sweep intra-op threads, inter-op pools and affinity; recommend settings");
  cmd->add_option("config", o->config_path, "Sweep YAML with an optional tune: section (configs/tune.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", o->output, "Every measurement as CSV (default results/tune-<config>.csv)");
  cmd->add_option("--settings-out", o->settings_output, "Derived rules (default results/settings-<platform>.yaml)");
  cmd->add_option("--report", o->report_output, "Markdown report (default results/tune-<config>.md)");
  cmd->add_option("--backend", o->backend, "cpu (oneDNN) or torch (PyTorch workers: threads, instances, affinity)")
      ->capture_default_str();
  cmd->add_option("--filter", o->filter, "Only workloads matching, e.g. 'family==fc'");
  cmd->add_flag("--force", o->force, "Overwrite an existing measurement file");
  cmd->add_flag("--resume", o->resume, "Measure only the workloads the measurement file lacks");
  cmd->add_flag("-q,--quiet", *quiet, "No progress bar");
  cmd->callback([o, quiet]() {
    o->progress = !*quiet;
    run_tune(*o);
  });
}

}  // namespace paradnn::cli
