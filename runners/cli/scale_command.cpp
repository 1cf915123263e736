// `paradnn scale CONFIG --nodes 2,4,...,1024 --network 100Gbit/s,2us`: predicted
// data-parallel step time and efficiency per point (runners/drivers/scale.hpp).
#include <fmt/core.h>

#include "runners/cli/commands.hpp"
#include "runners/drivers/scale.hpp"

namespace paradnn::cli {

void add_scale(CLI::App& app) {
  auto o = std::make_shared<ScaleOptions>();
  CLI::App* cmd = app.add_subcommand(
      "scale", "Predict data-parallel step time and efficiency on 2..1024 nodes (ring and tree all-reduce, with and without overlap)");
  cmd->add_option("config", o->config_path, "Sweep YAML (its train points)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--filter", o->filter, "Only points matching");
  cmd->add_option("--nodes", o->nodes, "Node counts")->delimiter(',')->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--network", o->network,
                  "BANDWIDTH,LATENCY per link (e.g. 100Gbit/s,2us), or 'measured': fitted to the platform file's all-reduce")
      ->capture_default_str();
  cmd->add_option("--platform", o->platform, "Platform file for --network measured (default: this CPU's)");
  cmd->add_option("--scaling", o->scaling, "weak: batch per node; strong: the config's batch is global")
      ->check(CLI::IsMember({"strong", "weak"}))
      ->capture_default_str();
  cmd->add_option("--bucket-mb", o->bucket_mb, "Gradient bucket size in MiB")->capture_default_str();
  cmd->add_option("--node-flops", o->node_flops,
                  "Instead of timing this machine: each op's FLOPs at this attained FLOP/s per node (e.g. 1e12)");
  cmd->add_option("--iterations", o->iterations, "Profiled steps per point")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "Simulated rows (default results/<config>-scale.csv)");
  cmd->add_flag("--force", o->force, "Overwrite the output");
  cmd->add_flag("--resume", o->resume, "Predict only the points the output lacks");
  cmd->callback([o]() {
    o->say = [](const std::string& line) { fmt::print("{}\n", line); };
    fmt::print("\nrows: {}\n", run_scale(*o));
  });
}

}  // namespace paradnn::cli
