// `paradnn quantize-search CONFIG --budget 0.01`: per-layer int8 sensitivity, greedy mixed
// precision within a fidelity budget, and the latency-versus-loss frontier CSV.
#include <fmt/core.h>

#include "analysis/plot_runner.hpp"
#include "runners/cli/commands.hpp"
#include "runners/drivers/quantize_search.hpp"

namespace paradnn::cli {

void add_quantize_search(CLI::App& app) {
  auto o = std::make_shared<QuantizeSearchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "quantize-search", "int8 inference: per-layer sensitivity, then layers int8 from least to most sensitive within a budget");
  cmd->add_option("config", o->config_path, "Sweep YAML with int8 inference points, e.g. configs/precision.yaml")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--budget", o->budget, "Largest fidelity loss accepted (1 - top-1 agreement with f32)")->capture_default_str();
  cmd->add_option("--filter", o->filter, "Only points matching, e.g. 'family==fc'");
  cmd->add_option("-o,--output", o->output, "Frontier CSV (default results/<config name>.frontier.csv)");
  cmd->add_option("--threads", o->threads, "Intra-op threads (default: all physical cores)")->check(CLI::Range(0, 4096));
  cmd->add_flag("--resume", o->resume, "Search only the points the frontier CSV lacks");
  cmd->add_flag("--force", o->force, "Overwrite an existing frontier CSV");
  cmd->callback([o]() {
    std::string path;
    const auto steps = quantize_search(*o, &path);
    fmt::print("{} frontier steps written to {}\n", steps.size(), path);
    const std::string stem = path.substr(0, path.rfind(".csv"));
    analysis::PlotJob job{"frontier", {path}, stem, "int8 layers added from least to most sensitive", {}};
    const auto drawn = analysis::draw_plots({job}, stem + ".plots.json");
    fmt::print("{}\n", drawn.drawn ? "plot: " + stem + ".png and .svg" : "no plot: " + drawn.message);
  });
}

}  // namespace paradnn::cli
