// Recommended settings: rules by model family and batch range, as YAML, and the shell
// exports that apply them to paradnn or to other frameworks.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platforms/backend.hpp"
#include "runners/drivers/instance_plan.hpp"

namespace paradnn {

struct SettingsRule {
  std::string family;  // fc, cnn, rnn, or * for any
  int64_t batch_min = 1, batch_max = INT64_MAX;
  Settings settings;
  std::string evidence;  // how the rule was derived (workloads, mean fraction of best)
  std::string mode = "*";  // train, infer, or * for either: threads pay off differently in each
};

struct SettingsFile {
  std::string platform, generated_utc;
  int tuned_cores = 0;  // cores the tuning run was allowed (0: not recorded): the counts are that machine's
  std::vector<SettingsRule> rules;
  // The first rule matching family, batch and mode ("*": a rule for either mode).
  std::optional<Settings> lookup(const std::string& family, int64_t batch, const std::string& mode = "*") const;
};

void save_settings_file(const SettingsFile& f, const std::string& path);
SettingsFile load_settings_file(const std::string& path);  // InputError with file:line:key

// The rule a settings file gives `family` at `batch`; InputError for a family that is not
// a model family (it would silently fall through to the '*' rule) or when no rule matches.
struct Recommended {
  Settings settings;
  std::string platform;
  int tuned_cores = 0;
  // Rules hold absolute thread and instance counts, measured on the tuning machine; where
  // this machine allows another number of cores, say so (they do not scale by themselves).
  std::optional<std::string> topology_note(int cores_here) const;
};
Recommended recommended_settings(const std::string& path, const std::string& family, int64_t batch,
                                 const std::string& mode = "*");

// What each instance of `plan` needs, as text: format "sh" (a shell function per instance
// that sets the OpenMP and Intel OpenMP variables and pins with taskset; with one instance
// also plain exports), "tf" (TensorFlow) or "torch" (PyTorch), where each copy of a script
// picks its instance by PARADNN_INSTANCE. `launch_hint` is the paradnn launch command line
// that starts the instances.
std::string shell_exports(const InstancePlans& plan, const std::string& format, const std::string& launch_hint);
}  // namespace paradnn
