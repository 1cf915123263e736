#include "analysis/heatmap.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "analysis/ratio_summary.hpp"
#include "analysis/workload.hpp"
#include "paradnn/error.hpp"

namespace paradnn::analysis {

namespace {

void require_column(const CsvTable& t, const std::string& column, const char* what) {
  if (std::find(t.header.begin(), t.header.end(), column) == t.header.end())
    throw InputError(fmt::format("{}: no column '{}' for the {}", t.path, column, what));
}

bool matches(const std::string& wanted, const std::string& have) { return wanted.empty() || wanted == have; }

Heatmap pivot(const CsvTable& t, const HeatmapSpec& spec, const std::function<bool(const Row&)>& keep) {
  require_column(t, spec.x, "x axis");
  require_column(t, spec.y, "y axis");
  require_column(t, spec.value, "value");
  if (spec.x == spec.y) throw InputError("heat map: x and y are both '" + spec.x + "'");
  std::map<std::pair<double, double>, std::vector<double>> cells;
  std::set<std::string> families, modes, dtypes;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const Row& r = t.rows[i];
    if (!keep(r) || !matches(spec.family, field(r, "model_family")) || !matches(spec.mode, field(r, "mode")) ||
        !matches(spec.dtype, field(r, "dtype")))
      continue;
    const auto v = number(r, spec.value);
    if (!v || !(*v > 0)) continue;  // empty (no platform file for utilization) or not measured
    const auto x = number(r, spec.x), y = number(r, spec.y);
    if (!x || !y)
      throw InputError(fmt::format("{}:{}: heat-map axes need numbers; {}='{}', {}='{}'", t.path, t.lines[i], spec.x,
                                   field(r, spec.x), spec.y, field(r, spec.y)));
    cells[{*x, *y}].push_back(*v);
    families.insert(field(r, "model_family"));
    modes.insert(field(r, "mode"));
    dtypes.insert(field(r, "dtype"));
  }
  if (cells.empty())
    throw InputError(fmt::format("{}: no rows with a positive {} for {} {} {}", t.path, spec.value,
                                 spec.family.empty() ? "any family" : spec.family, spec.mode, spec.dtype));
  const std::pair<const std::set<std::string>*, const char*> single[] = {
      {&families, "--family"}, {&modes, "--mode"}, {&dtypes, "--dtype"}};
  for (const auto& [set, option] : single)
    if (set->size() > 1)
      throw InputError(fmt::format("{}: rows of several values ({}): choose one with {}", t.path, fmt::join(*set, ", "),
                                   option));
  Heatmap h;
  h.spec = spec;
  h.spec.family = *families.begin();
  h.spec.mode = *modes.begin();
  h.spec.dtype = *dtypes.begin();
  std::set<double> xs, ys;
  for (const auto& [xy, values] : cells) {
    xs.insert(xy.first);
    ys.insert(xy.second);
  }
  h.xs.assign(xs.begin(), xs.end());
  h.ys.assign(ys.begin(), ys.end());
  h.cell.assign(h.ys.size(), std::vector<std::optional<double>>(h.xs.size()));
  h.count.assign(h.ys.size(), std::vector<int>(h.xs.size(), 0));
  for (const auto& [xy, values] : cells) {
    const size_t xi = static_cast<size_t>(std::lower_bound(h.xs.begin(), h.xs.end(), xy.first) - h.xs.begin());
    const size_t yi = static_cast<size_t>(std::lower_bound(h.ys.begin(), h.ys.end(), xy.second) - h.ys.begin());
    h.cell[yi][xi] = geometric_mean(values);
    h.count[yi][xi] = static_cast<int>(values.size());
  }
  return h;
}

}  // namespace

Heatmap pivot_results(const CsvTable& results, const HeatmapSpec& spec) {
  return pivot(results, spec, [](const Row& r) { return status_of(r) == Status::ok; });
}

Heatmap pivot_comparison(const CsvTable& comparison, HeatmapSpec spec) {
  if (spec.value.empty() || spec.value == "examples_per_s") spec.value = "speedup";
  if (spec.platform.empty())  // the first platform that is not the baseline
    for (const Row& r : comparison.rows)
      if (field(r, "platform") != field(r, "baseline")) {
        spec.platform = field(r, "platform");
        break;
      }
  const std::string platform = spec.platform;
  return pivot(comparison, spec, [&](const Row& r) { return field(r, "platform") == platform; });
}

void write_heatmap_csv(const Heatmap& h, const std::string& path) {
  std::vector<Row> rows;
  for (size_t yi = 0; yi < h.ys.size(); ++yi)
    for (size_t xi = 0; xi < h.xs.size(); ++xi)
      if (h.cell[yi][xi])
        rows.push_back({{h.spec.x, fmt::format("{}", h.xs[xi])},
                        {h.spec.y, fmt::format("{}", h.ys[yi])},
                        {h.spec.value, fmt::format("{:.6g}", *h.cell[yi][xi])},
                        {"points", std::to_string(h.count[yi][xi])}});
  write_csv_file(path, {h.spec.x, h.spec.y, h.spec.value, "points"}, rows);
}

}  // namespace paradnn::analysis
