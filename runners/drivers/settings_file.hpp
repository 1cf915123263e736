// Recommended settings: rules by model family and batch range, as YAML, and the shell
// exports that apply them to paradnn or to other frameworks.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platforms/backend.hpp"

namespace paradnn {

struct SettingsRule {
  std::string family;  // fc, cnn, rnn, or * for any
  int64_t batch_min = 1, batch_max = INT64_MAX;
  Settings settings;
  std::string evidence;  // how the rule was derived (workloads, mean fraction of best)
};

struct SettingsFile {
  std::string platform, generated_utc;
  std::vector<SettingsRule> rules;
  // The first rule matching family and batch.
  std::optional<Settings> lookup(const std::string& family, int64_t batch) const;
};

void save_settings_file(const SettingsFile& f, const std::string& path);
SettingsFile load_settings_file(const std::string& path);  // InputError with file:line:key

// Shell lines applying `s`: format "sh" (OpenMP exports), "tf" (TensorFlow), "torch" (PyTorch).
std::string shell_exports(const Settings& s, int physical_cores, const std::string& format);

}  // namespace paradnn
