// Sections of a report: each writes its data files into a folder, names the plots to draw
// from them and the Markdown that presents them. `paradnn report` composes them.
#pragma once
#include <string>
#include <vector>

#include "analysis/compare.hpp"
#include "analysis/heatmap.hpp"
#include "analysis/plot_runner.hpp"
#include "analysis/roofline_data.hpp"
#include "paradnn/csv.hpp"

namespace paradnn::analysis {

struct ReportPart {
  std::string title;
  std::string text;            // Markdown: tables and notes
  std::vector<PlotJob> plots;  // outputs are paths without extension, inside the folder
};

// Plot and data file names start with `prefix` (an input's name where a report has several).
// Data files go to <dir>/data, plots to <dir>.

// Fits per family/mode/dtype (sensitivity.csv), a bar plot per family.
ReportPart sensitivity_part(const CsvTable& results, const std::string& dir, const std::string& prefix);

// One heat map per spec; a spec with an empty family/mode/dtype gives one per group present.
ReportPart heatmap_part(const CsvTable& table, const HeatmapSpec& spec, const std::string& dir,
                        const std::string& prefix);

// Heat maps a report draws unasked: per family/mode/dtype, the non-batch axis with the most
// values against batch (or the next axis where batch is fixed), for `value`; groups with fewer
// than two numeric axes that vary are skipped and named in `skipped`.
std::vector<HeatmapSpec> default_heatmaps(const CsvTable& table, const std::string& value,
                                          std::vector<std::string>* skipped = nullptr);

// Measured points under the ceilings (empty ceilings: points only); `source` says where the
// ceilings came from (the platform file's path and thread count) or why there are none.
ReportPart roofline_part(const CsvTable& results, const std::vector<Ceiling>& ceilings, const std::string& source,
                         const std::string& dir, const std::string& prefix);

// Speedup bars per family/mode/dtype and speedup heat maps, from a comparison table; `notes`
// (Markdown) go right after the speedup table.
ReportPart speedup_part(const CsvTable& comparison, const std::string& dir, const std::string& prefix,
                        const std::string& notes = "");

}  // namespace paradnn::analysis
