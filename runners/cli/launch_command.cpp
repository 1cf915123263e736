// `paradnn launch --settings FILE -- CMD ARGS...`: start the recommended instances of any
// command, each pinned to its own cpus with its OpenMP variables; exit with the worst status.
#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>

#include "paradnn/bounds.hpp"
#include "paradnn/error.hpp"
#include "runners/cli/commands.hpp"
#include "runners/drivers/launch.hpp"
#include "runners/drivers/settings_file.hpp"

namespace paradnn::cli {

void add_launch(CLI::App& app) {
  struct Opts {
    std::string settings, family = "fc", affinity;
    int64_t batch = 256;
    std::string mode = "train";
    int instances = 0, threads = -1;
    bool dry_run = false;
    std::vector<std::string> command;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "launch", "Start the recommended instances (inter-op pools) of a command, each pinned to its own cpus");
  cmd->add_option("--settings", o->settings, "Settings YAML (from paradnn tune)")->check(CLI::ExistingFile);
  cmd->add_option("--family", o->family, "Model family the settings are for")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Batch size the settings are for")->capture_default_str();
  cmd->add_option("--mode", o->mode, "train or infer: the rules differ")->capture_default_str();
  cmd->add_option("--instances", o->instances, "Instances to start, instead of the rule's inter_pools");
  cmd->add_option("--threads", o->threads, "OpenMP threads per instance, instead of the rule's intra_threads (0 = all cores)");
  cmd->add_option("--affinity", o->affinity, "none, close or spread, instead of the rule's (default close without --settings)")
      ->check(CLI::IsMember({"none", "close", "spread"}));
  cmd->add_flag("--dry-run", o->dry_run, "Print the plan only");
  cmd->add_option("command", o->command, "The command each instance runs, after --")->required();
  cmd->footer("Example: paradnn launch --settings results/settings-x.yaml --family fc --batch 16 -- python3 train.py");
  cmd->callback([o]() {
    Settings s{0, 1, Affinity::close};
    const CpuCores cpus = inherited_cores();
    if (!o->settings.empty()) {
      const Recommended r = recommended_settings(o->settings, o->family, o->batch, o->mode);
      s = r.settings;
      if (const auto note = r.topology_note(static_cast<int>(cpus.cores.size())))
        fmt::print(stderr, "paradnn launch: note: {}\n", *note);
    } else if (o->instances == 0 || o->threads < 0) {
      throw InputError("launch: give --settings FILE, or both --instances K and --threads T");
    }
    if (o->instances != 0) {
      if (o->instances < 1 || o->instances > bounds::kMaxThreads)
        throw InputError(fmt::format("--instances {}: expected 1..{}", o->instances, bounds::kMaxThreads));
      s.inter_pools = o->instances;
    }
    if (o->threads >= 0) {
      if (o->threads > bounds::kMaxThreads)
        throw InputError(fmt::format("--threads {}: expected 0..{} (0 = all cores)", o->threads, bounds::kMaxThreads));
      s.intra_threads = o->threads;
    }
    if (!o->affinity.empty()) s.affinity = parse_affinity(o->affinity);

    const InstancePlans plan = plan_instances(s, cpus);
    std::FILE* log = o->dry_run ? stdout : stderr;  // a run keeps stdout for the instances' own output
    for (const std::string& n : plan.notes) fmt::print(log, "paradnn launch: note: {}\n", n);
    for (const InstancePlan& i : plan.instances) fmt::print(log, "paradnn launch: {}\n", describe_instance(i));
    if (o->dry_run) return;
    std::fflush(stdout);
    const LaunchOutcome r = launch_instances(plan, o->command);
    for (const InstanceOutcome& i : r.instances) fmt::print(stderr, "paradnn launch: {}\n", describe_outcome(i));
    // The worst instance's status is the command's: main's codes (0, 1, 2, 130) do not fit.
    if (r.exit_code != 0) std::exit(r.exit_code);
  });
}

}  // namespace paradnn::cli
