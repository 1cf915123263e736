// Drawing plots: the C++ side writes small data files and a list of plot jobs (JSON);
// analysis/plot.py draws them with Debian's python3-matplotlib (Agg) as PNG and SVG.
// Where python3 or matplotlib is missing the data files stay, and the message says so.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace paradnn::analysis {

struct PlotJob {
  std::string kind;                            // heatmap, sensitivity, speedup, roofline
  std::vector<std::string> data;               // CSV inputs (roofline: points, then ceilings)
  std::string output;                          // path without extension; .png and .svg are written
  std::string title;
  std::map<std::string, std::string> options;  // per kind, e.g. family for sensitivity
};

// $PARADNN_PLOT_SCRIPT, else analysis/plot.py in the source tree this was built from,
// else share/paradnn/plot.py under the install prefix.
std::string plot_script_path();
// $PARADNN_PYTHON, else /usr/bin/python3.
std::string python_path();

// Why plots cannot be drawn here (no python3, no matplotlib, no plot.py); "" when they can.
std::string plotting_unavailable();

struct PlotOutcome {
  bool drawn = false;
  bool failed = false;  // the script ran and failed: an error, unlike python or matplotlib missing
  std::string message;  // what went wrong, or what to install
};

// Writes the jobs to `jobs_path` as JSON and runs plot.py on it once.
PlotOutcome draw_plots(const std::vector<PlotJob>& jobs, const std::string& jobs_path);

std::string json_string(const std::string& s);

}  // namespace paradnn::analysis
