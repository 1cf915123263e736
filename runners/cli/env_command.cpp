// `paradnn env FILE`: what each instance of a recommended setting needs (its cpus, OpenMP
// variables, a taskset prefix), as shell, TensorFlow or PyTorch text.
#include <fmt/core.h>

#include "runners/cli/commands.hpp"
#include "runners/drivers/instance_plan.hpp"
#include "runners/drivers/settings_file.hpp"

namespace paradnn::cli {

void add_env(CLI::App& app) {
  struct Opts {
    std::string file, family = "fc", format = "sh";
    int64_t batch = 256;
    std::string mode = "train";
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("env", "Print per-instance exports for recommended settings (from paradnn tune)");
  cmd->add_option("file", o->file, "Settings YAML, e.g. results/settings-<platform>.yaml")->required()->check(CLI::ExistingFile);
  cmd->add_option("--family", o->family, "Model family the settings are for")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Batch size the settings are for")->capture_default_str();
  cmd->add_option("--mode", o->mode, "train or infer: the rules differ")->capture_default_str();
  cmd->add_option("--format", o->format, "sh (OpenMP exports, taskset), tf (TensorFlow) or torch (PyTorch)")
      ->check(CLI::IsMember({"sh", "tf", "torch"}))
      ->capture_default_str();
  cmd->callback([o]() {
    const Recommended r = recommended_settings(o->file, o->family, o->batch, o->mode);
    // Planned inside the cpuset env runs in: run env where the instances will run.
    const CpuCores cpus = inherited_cores();
    const InstancePlans plan = plan_instances(r.settings, cpus);
    std::vector<int> all;
    for (const auto& core : cpus.cores) all.insert(all.end(), core.begin(), core.end());
    if (const auto note = r.topology_note(static_cast<int>(cpus.cores.size()))) fmt::print("# note: {}\n", *note);
    fmt::print("# paradnn settings for {} batch {}{}\n# allowed cpus {}: {} core(s), {} hardware thread(s)\n{}",
               o->family, o->batch, r.platform.empty() ? "" : " (tuned on " + r.platform + ")", cpu_list(all), cpus.cores.size(), cpus.pus(),
               shell_exports(plan, o->format,
                             fmt::format("paradnn launch --settings {} --family {} --batch {} --mode {}", o->file, o->family,
                                         o->batch, o->mode)));
  });
}

}  // namespace paradnn::cli
