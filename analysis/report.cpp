#include "analysis/report.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <sstream>

#include "analysis/compare.hpp"
#include "analysis/report_paths.hpp"
#include "analysis/summary_table.hpp"
#include "paradnn/atomic_file.hpp"
#include "paradnn/error.hpp"

namespace paradnn::analysis {

namespace {

void append(std::vector<ReportPart>& parts, ReportPart part, const std::string& name) {
  if (!name.empty()) part.title += " (" + name + ")";
  parts.push_back(std::move(part));
}

bool has_positive(const CsvTable& t, const std::string& column) {
  for (const Row& r : t.rows)
    if (const auto v = number(r, column); v && *v > 0 && status_of(r) == Status::ok) return true;
  return false;
}

// Roofline, heat maps and sensitivity of one results file; `name` titles its parts.
void results_parts(std::vector<ReportPart>& parts, const CsvTable& t, const std::string& name,
                   const std::string& prefix, const std::string& dir, const ReportOptions& o) {
  const auto [ceilings, source] =
      o.ceilings ? o.ceilings(t) : std::pair<std::vector<Ceiling>, std::string>{{}, "none (no platform file)"};
  append(parts, roofline_part(t, ceilings, source, dir, prefix), name);
  std::vector<std::string> values{"examples_per_s"};
  if (has_positive(t, "utilization")) values.push_back("utilization");
  for (const std::string& value : values) {
    std::vector<std::string> skipped;
    ReportPart maps{"Heat maps of " + value, "", {}};
    for (const HeatmapSpec& spec : default_heatmaps(t, value, &skipped)) {
      ReportPart one = heatmap_part(t, spec, dir, prefix);
      maps.text += one.text;
      maps.plots.insert(maps.plots.end(), one.plots.begin(), one.plots.end());
    }
    if (!skipped.empty())
      maps.text += fmt::format("No heat map for {}: fewer than two numeric axes vary.\n\n", fmt::join(skipped, ", "));
    append(parts, std::move(maps), name);
  }
  append(parts, sensitivity_part(t, dir, prefix), name);
}

}  // namespace

ReportOutcome render_report(const std::vector<ReportPart>& parts, const std::string& dir, const std::string& heading) {
  std::filesystem::create_directories(std::filesystem::path(dir) / "data");
  ReportOutcome out;
  std::vector<PlotJob> jobs;
  for (const ReportPart& p : parts) jobs.insert(jobs.end(), p.plots.begin(), p.plots.end());
  if (!jobs.empty()) out.plotted = draw_plots(jobs, (std::filesystem::path(dir) / "data" / "plots.json").string());
  for (const PlotJob& j : jobs) out.plots.push_back(j.output + ".png");
  out.index = (std::filesystem::path(dir) / "index.md").string();
  std::ostringstream md;
  md << "# " << heading << "\n\n";
  if (!jobs.empty() && !out.plotted.drawn) md << "**" << out.plotted.message << ".**\n\n";
  md << "Plots are PNG with an SVG beside each; the numbers behind every plot are in `data/`.\n\n";
  for (const ReportPart& p : parts) md << "## " << p.title << "\n\n" << p.text;
  write_file_atomically(out.index, md.str());
  return out;
}

ReportOutcome report_all(const std::vector<std::string>& inputs, const ReportOptions& o) {
  if (inputs.empty()) throw InputError("report all needs at least one CSV");
  std::vector<std::string> results, comparisons;
  for (const std::string& path : inputs) (is_comparison(read_csv(path)) ? comparisons : results).push_back(path);
  std::vector<ReportPart> parts;
  std::string compared;
  if (results.size() > 1) {
    // A report compares whatever it is given (threads, platforms): settings that differ are
    // flagged in compare.csv's settings_differ column, not refused.
    CompareOptions flag_settings;
    flag_settings.ignore_settings = true;
    const Comparison c = compare_result_files(results, o.baseline, flag_settings);
    const std::string csv = (std::filesystem::path(o.dir) / "data" / "compare.csv").string();
    write_comparison_csv(c, csv);
    compared = format_comparison(c);
    parts.push_back(speedup_part(read_comparison(csv), o.dir, "", "```\n" + format_join_report(c) + "```\n\n"));
  }
  // One prefix per input, unique over all of them (the same file name in two folders).
  std::vector<std::string> all = comparisons;
  all.insert(all.end(), results.begin(), results.end());
  const std::vector<std::string> prefixes = unique_prefixes(all);
  for (size_t i = 0; i < comparisons.size(); ++i)
    append(parts, speedup_part(read_comparison(comparisons[i]), o.dir, prefixes[i] + "-"),
           std::filesystem::path(comparisons[i]).stem().string());
  const std::vector<std::string> names = input_names(results);
  for (size_t i = 0; i < results.size(); ++i) {
    const bool several = results.size() > 1;
    results_parts(parts, read_results(results[i]), several ? names[i] : "",
                  several ? prefixes[comparisons.size() + i] + "-" : "", o.dir, o);
  }
  ReportOutcome out = render_report(parts, o.dir, "paradnn report: " + fmt::format("{}", fmt::join(inputs, ", ")));
  out.comparison = compared;
  return out;
}

}  // namespace paradnn::analysis
