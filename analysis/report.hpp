// `paradnn report all`: every plot for a set of CSVs (result files and comparison files) in
// one folder with an index.md that shows and links them.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/plot_runner.hpp"
#include "analysis/report_parts.hpp"

namespace paradnn::analysis {

// Ceilings for a results table and a line saying where they came from (or why there are none).
using CeilingSource = std::function<std::pair<std::vector<Ceiling>, std::string>(const CsvTable& results)>;

struct ReportOptions {
  std::string dir;
  std::string baseline;     // for comparing several result files; empty = the first
  CeilingSource ceilings;   // may be empty: roofline points without ceilings
};

struct ReportOutcome {
  std::string index;               // path of index.md
  std::vector<std::string> plots;  // PNG paths (SVG beside each)
  PlotOutcome plotted;
  std::string comparison;          // the comparison summary, where several result files were given
};

// Result files each get a roofline, heat maps of examples/s (and utilization where present)
// and sensitivity fits; two or more are also compared (data/compare.csv, speedups); each
// comparison file gets speedup bars and speedup heat maps.
ReportOutcome report_all(const std::vector<std::string>& inputs, const ReportOptions& options);

// Draws the parts' plots (one plot.py run) and writes <dir>/index.md under `heading`.
ReportOutcome render_report(const std::vector<ReportPart>& parts, const std::string& dir, const std::string& heading);

}  // namespace paradnn::analysis
