// `paradnn report sensitivity|heatmap|all`: tables and plots from result and comparison CSVs.
#include <fmt/core.h>

#include <filesystem>

#include "analysis/compare.hpp"
#include "analysis/report.hpp"
#include "analysis/sensitivity.hpp"
#include "analysis/summary_table.hpp"
#include "runners/cli/commands.hpp"
#include "runners/drivers/roofline_ceilings.hpp"

namespace paradnn::cli {

namespace {

// <input without .csv>-report, beside the input.
std::string default_dir(const std::string& input) {
  const std::filesystem::path p(input);
  return (p.parent_path() / (p.stem().string() + "-report")).string();
}

// Missing python or matplotlib is a note (the data files are the report); a plot script that
// ran and failed is an error.
void say(const analysis::ReportOutcome& r) {
  if (r.plotted.drawn)
    for (const std::string& png : r.plots) fmt::print("  {}\n", png);
  else if (!r.plots.empty() && !r.plotted.failed)
    fmt::print(stderr, "paradnn: {}\n", r.plotted.message);
  fmt::print("wrote {}\n", r.index);
  if (r.plotted.failed) throw std::runtime_error(r.plotted.message);
}

void add_sensitivity(CLI::App& report) {
  auto input = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = report.add_subcommand(
      "sensitivity", "Per family: least-squares weights of log2(examples/s) on log2 of each hyperparameter, R^2");
  cmd->add_option("results", *input, "Result CSV")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", *dir, "Folder for sensitivity.csv and the bar plots (default <results>-report)");
  cmd->callback([input, dir]() {
    const std::string out = dir->empty() ? default_dir(*input) : *dir;
    const CsvTable t = read_results(*input);
    fmt::print("{}\n", analysis::format_sensitivity(analysis::fit_sensitivity(t)));
    say(analysis::render_report({analysis::sensitivity_part(t, out, "")}, out, "paradnn sensitivity: " + *input));
  });
}

void add_heatmap(CLI::App& report) {
  auto input = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  auto spec = std::make_shared<analysis::HeatmapSpec>();
  CLI::App* cmd = report.add_subcommand(
      "heatmap", "A value over two hyperparameters (geometric mean where others vary); speedup from a compare CSV");
  cmd->add_option("csv", *input, "Result CSV, or a CSV from `paradnn compare -o`")->required()->check(CLI::ExistingFile);
  cmd->add_option("--x", spec->x, "Column across (e.g. nodes)")->required();
  cmd->add_option("--y", spec->y, "Column up (e.g. batch)")->required();
  cmd->add_option("--value", spec->value, "examples_per_s, utilization, flops_per_s, ... (compare CSV: speedup)")
      ->capture_default_str();
  cmd->add_option("--family", spec->family, "Only this family (default: each that has both columns)");
  cmd->add_option("--mode", spec->mode, "Only train or infer (default: each)");
  cmd->add_option("--dtype", spec->dtype, "Only this dtype (default: each)");
  cmd->add_option("--platform", spec->platform, "Compare CSV: whose speedup (default: the first that is not the baseline)");
  cmd->add_option("-o,--output", *dir, "Folder for the data and plots (default <csv>-report)");
  cmd->callback([input, dir, spec]() {
    const std::string out = dir->empty() ? default_dir(*input) : *dir;
    CsvTable t = read_csv(*input);
    t = analysis::is_comparison(t) ? analysis::read_comparison(*input) : read_results(*input);
    say(analysis::render_report({analysis::heatmap_part(t, *spec, out, "")}, out, "paradnn heat maps: " + *input));
  });
}

void add_all(CLI::App& report) {
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto platform = std::make_shared<std::string>();
  auto o = std::make_shared<analysis::ReportOptions>();
  CLI::App* cmd = report.add_subcommand(
      "all", "Every plot (roofline, heat maps, sensitivity; speedups for several files) and an index.md");
  cmd->add_option("csvs", *inputs, "Result CSVs (several are also compared) and/or compare CSVs")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", o->dir, "Folder (default <first csv>-report)");
  cmd->add_option("--baseline", o->baseline, "For several result files: the one speedups are over (default the first)");
  cmd->add_option("--platform", *platform,
                  "Platform file for the roofline's ceilings (default this CPU's, where its device matches)");
  cmd->callback([inputs, platform, o]() {
    if (o->dir.empty()) o->dir = default_dir(inputs->front());
    o->ceilings = report_ceilings(*platform);
    const analysis::ReportOutcome r = analysis::report_all(*inputs, *o);
    if (!r.comparison.empty()) fmt::print("{}\n", r.comparison);
    say(r);
  });
}

}  // namespace

void add_report(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("report", "Tables and plots (PNG, SVG) from result CSVs");
  cmd->require_subcommand(1);
  add_sensitivity(*cmd);
  add_heatmap(*cmd);
  add_all(*cmd);
}

}  // namespace paradnn::cli
