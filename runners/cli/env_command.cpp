// `paradnn env FILE`: shell exports that apply recommended settings, for paradnn or other frameworks.
#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/registry.hpp"
#include "runners/cli/commands.hpp"
#include "runners/drivers/settings_file.hpp"

namespace paradnn::cli {

void add_env(CLI::App& app) {
  struct Opts {
    std::string file, family = "fc", format = "sh";
    int64_t batch = 256;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("env", "Print shell exports for recommended settings (from paradnn tune)");
  cmd->add_option("file", o->file, "Settings YAML, e.g. results/settings-<platform>.yaml")->required()->check(CLI::ExistingFile);
  cmd->add_option("--family", o->family, "Model family the settings are for")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Batch size the settings are for")->capture_default_str();
  cmd->add_option("--format", o->format, "sh (OpenMP exports), tf (TensorFlow) or torch (PyTorch)")
      ->check(CLI::IsMember({"sh", "tf", "torch"}))
      ->capture_default_str();
  cmd->callback([o]() {
    // A misspelt family would silently fall through to the wildcard rule.
    std::vector<std::string> families;
    for (const FamilySpec& spec : models::catalog()) families.push_back(spec.name);
    if (std::find(families.begin(), families.end(), o->family) == families.end())
      throw InputError(fmt::format("--family '{}': not a model family (expected one of {})", o->family,
                                   fmt::join(families, ", ")));
    const SettingsFile f = load_settings_file(o->file);
    const auto s = f.lookup(o->family, o->batch);
    if (!s) throw InputError(fmt::format("{}: no rule for family {} at batch {}", o->file, o->family, o->batch));
    fmt::print("# paradnn settings for {} batch {} on {}\n{}", o->family, o->batch, f.platform,
               shell_exports(*s, make_backend("cpu")->platform().cores, o->format));
  });
}

}  // namespace paradnn::cli
