// `paradnn model-error CONFIG RESULTS.csv`: the roofline performance model against this
// machine's measured rows (runners/drivers/model_error.hpp): a row per point and the median
// absolute error per family and mode.
#include <fmt/core.h>

#include "runners/cli/commands.hpp"
#include "runners/drivers/model_error.hpp"

namespace paradnn::cli {

void add_model_error(CLI::App& app) {
  auto o = std::make_shared<ModelErrorOptions>();
  CLI::App* cmd = app.add_subcommand("model-error", "Median error of the roofline performance model against measured CPU rows");
  cmd->add_option("config", o->config_path, "The sweep YAML the results came from")->required()->check(CLI::ExistingFile);
  cmd->add_option("results", o->results, "Measured results CSV")->required()->check(CLI::ExistingFile);
  cmd->add_option("--platform", o->platform, "CPU platform file (default: this machine's, probed if missing)");
  cmd->add_option("--filter", o->filter, "Only points matching");
  cmd->add_option("-o,--output", o->output, "Predicted vs measured rows (default results/<config name>.model-error.csv)");
  cmd->add_flag("--resume", o->resume, "Predict only the points the output lacks");
  cmd->add_flag("--force", o->force, "Overwrite an existing output");
  cmd->callback([o]() {
    const ModelErrorSummary s = run_model_error(*o);
    fmt::print("{:<12} {:>6} {:>22}\n", "family mode", "points", "median |error|");
    for (const auto& [group, g] : s.groups) fmt::print("{:<12} {:>6} {:>21.0f}%\n", group, g.first, 100 * g.second);
    if (s.unmatched) fmt::print("{} rows are not points of {} and were left out\n", s.unmatched, o->config_path);
    fmt::print("rows: {}\n", s.output);
  });
}

}  // namespace paradnn::cli
