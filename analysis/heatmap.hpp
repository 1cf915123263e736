// Heat-map data: a value (examples/s, utilization, speedup) pivoted over two axes
// (hyperparameters or batch) for one family, mode and dtype. Rows that share a cell
// (other hyperparameters varying) are combined by their geometric mean, with the count kept.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "paradnn/csv.hpp"

namespace paradnn::analysis {

struct HeatmapSpec {
  std::string x, y;                       // axis columns, numeric (e.g. nodes, batch)
  std::string value = "examples_per_s";   // examples_per_s, utilization, ... or speedup
  std::string family, mode, dtype;        // empty = any (pivot checks they are single-valued)
  std::string platform;                   // comparison tables only: whose speedup
};

struct Heatmap {
  HeatmapSpec spec;
  std::vector<double> xs, ys;                           // sorted axis values
  std::vector<std::vector<std::optional<double>>> cell;  // [y][x]; nullopt where no row
  std::vector<std::vector<int>> count;                   // rows combined in each cell
};

// From a results table: ok rows of the spec's family/mode/dtype. InputError for an unknown
// or non-numeric axis, a missing value column, or no rows with a positive value.
Heatmap pivot_results(const CsvTable& results, const HeatmapSpec& spec);
// From a comparison table: the spec's platform's speedup (default value "speedup").
Heatmap pivot_comparison(const CsvTable& comparison, HeatmapSpec spec);

// Long form for plotting: one row per filled cell, columns <x>, <y>, <value>, points.
void write_heatmap_csv(const Heatmap& h, const std::string& path);

}  // namespace paradnn::analysis
