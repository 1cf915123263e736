// `paradnn compare A.csv B.csv ...`: the same workloads across platforms, speedups over a baseline.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <map>
#include <set>

#include "analysis/compare.hpp"
#include "analysis/summary_table.hpp"
#include "paradnn/error.hpp"
#include "runners/cli/commands.hpp"

namespace paradnn::cli {

namespace {

// The geomean beside its bootstrap interval and the verdict counts behind it, and which
// tests gave the verdicts.
std::string format_significance(const analysis::Comparison& c, double alpha) {
  std::vector<std::vector<std::string>> rows;
  for (const analysis::SpeedupGroup& s : c.summary) {
    if (!s.speedup.count) continue;
    rows.push_back({s.platform, s.group.family, s.group.mode, s.group.dtype, fmt::format("{:.3g}x", s.speedup.geomean),
                    fmt::format("{:.3g}x-{:.3g}x", s.interval.lo, s.interval.hi), std::to_string(s.faster),
                    std::to_string(s.slower), std::to_string(s.noise), std::to_string(s.unknown)});
  }
  std::map<std::string, int> tests;
  std::set<std::string> differ;
  for (const analysis::JoinedPoint& j : c.joined)
    for (size_t p = 0; p < c.inputs.size(); ++p) {
      if (p != c.baseline) ++tests[j.verdicts[p].test];
      if (!j.settings_differ[p].empty()) differ.insert(j.settings_differ[p]);
    }
  std::vector<std::string> used;
  for (const auto& [test, n] : tests) used.push_back(fmt::format("{} {}", test, n));
  std::string out = fmt::format("\nSignificance (alpha {}; tests: {}) and bootstrap 95% interval on the geomean\n\n",
                                alpha, fmt::join(used, ", "));
  out += analysis::markdown_table(
      {"platform", "family", "mode", "dtype", "geomean", "95% interval", "faster", "slower", "noise", "unknown"}, rows);
  if (!differ.empty())
    out += fmt::format("joined despite other settings (--ignore-settings): {}\n", fmt::join(differ, "; "));
  return out;
}

}  // namespace

void add_compare(CLI::App& app) {
  struct Opts {
    std::vector<std::string> inputs;
    std::string output, baseline;
    bool force = false, ignore_settings = false;
    size_t list = 20;
    double alpha = 0.05;
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
  cmd->add_option("--alpha", o->alpha, "Significance level: a speedup with p >= alpha is noise")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_flag("--ignore-settings", o->ignore_settings,
                "Join rows run with other threads, pools, affinity or backend (the output names what differed)");
  cmd->add_flag("--force", o->force, "Overwrite the output");
  cmd->callback([o]() {
    if (!o->output.empty() && std::filesystem::exists(o->output) && !o->force)
      throw InputError(o->output + " exists: pass --force to overwrite");
    const analysis::Comparison c =
        analysis::compare_result_files(o->inputs, o->baseline, {o->alpha, o->ignore_settings});
    fmt::print("{}", analysis::format_comparison(c, o->list));
    fmt::print("{}", format_significance(c, o->alpha));
    if (o->output.empty()) return;
    analysis::write_comparison_csv(c, o->output);
    fmt::print("wrote {} ({} workloads x {} platforms)\n", o->output, c.joined.size(), c.inputs.size());
  });
}

}  // namespace paradnn::cli
