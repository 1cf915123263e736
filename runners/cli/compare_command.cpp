// `paradnn compare A.csv B.csv ...`: the same workloads across platforms, speedups over a baseline.
#include <fmt/core.h>

#include <filesystem>

#include "analysis/compare.hpp"
#include "analysis/summary_table.hpp"
#include "paradnn/error.hpp"
#include "runners/cli/commands.hpp"

namespace paradnn::cli {

void add_compare(CLI::App& app) {
  struct Opts {
    std::vector<std::string> inputs;
    std::string output, baseline;
    bool force = false;
    size_t list = 20;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Join the same workloads across result files; geometric-mean speedup over a baseline");
  cmd->add_option("inputs", o->inputs, "Result CSVs, one per platform (named by file stem)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", o->output, "Tidy CSV: one row per workload and platform, examples/s and speedup");
  cmd->add_option("--baseline", o->baseline, "Input (name or path) the speedups are over; default the first");
  cmd->add_option("--list", o->list, "Unjoined workloads to list by name")->capture_default_str();
  cmd->add_flag("--force", o->force, "Overwrite the output");
  cmd->callback([o]() {
    if (!o->output.empty() && std::filesystem::exists(o->output) && !o->force)
      throw InputError(o->output + " exists: pass --force to overwrite");
    const analysis::Comparison c = analysis::compare_result_files(o->inputs, o->baseline);
    fmt::print("{}", analysis::format_comparison(c, o->list));
    if (o->output.empty()) return;
    analysis::write_comparison_csv(c, o->output);
    fmt::print("wrote {} ({} workloads x {} platforms)\n", o->output, c.joined.size(), c.inputs.size());
  });
}

}  // namespace paradnn::cli
