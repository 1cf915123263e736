#include "analysis/report_parts.hpp"

#include <fmt/core.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>

#include "analysis/report_paths.hpp"
#include "analysis/sensitivity.hpp"
#include "analysis/summary_table.hpp"
#include "analysis/workload.hpp"
#include "paradnn/error.hpp"

namespace paradnn::analysis {

namespace {

// Names hold families and platforms from the data: made safe and kept inside the folder.
std::string data_path(const std::string& dir, const std::string& prefix, const std::string& name) {
  return path_inside(dir, "data/" + safe_name(prefix + name) + ".csv");
}

std::string plot_path(const std::string& dir, const std::string& prefix, const std::string& name) {
  return path_inside(dir, safe_name(prefix + name));
}

// Markdown for a plot: the PNG shown, the SVG linked (paths relative to the folder).
std::string image(const PlotJob& job) {
  const std::string name = std::filesystem::path(job.output).filename().string();
  const auto context = job.options.find("context");
  const std::string alt = context == job.options.end() || context->second.empty() ? job.title
                                                                                   : job.title + " (" + context->second + ")";
  return fmt::format("![{}]({}.png)\n([SVG]({}.svg), data: `data/{}`)\n\n", alt, name, name,
                     std::filesystem::path(job.data.front()).filename().string());
}

// "AMD EPYC, 2 threads": the devices and intra_threads of `rows` (several values joined by "/").
std::string machine_of(const std::vector<const Row*>& rows) {
  std::set<std::string> devices;
  std::set<int> threads;
  for (const Row* r : rows) {
    if (const std::string d = field(*r, "device_name"); !d.empty()) devices.insert(d);
    if (const auto t = number(*r, "intra_threads"); t && *t > 0) threads.insert(static_cast<int>(*t));
  }
  std::vector<std::string> parts;
  if (!devices.empty()) parts.push_back(fmt::format("{}", fmt::join(devices, "/")));
  if (!threads.empty())
    parts.push_back(fmt::format("{} thread{}", fmt::join(threads, "/"),
                                threads.size() == 1 && *threads.begin() == 1 ? "" : "s"));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::vector<const Row*> ok_rows(const CsvTable& t, const std::function<bool(const Row&)>& keep = {}) {
  std::vector<const Row*> rows;
  for (const auto& [group, mine] : ok_rows_by_group(t))
    for (const Row* r : mine)
      if (!keep || keep(*r)) rows.push_back(r);
  return rows;
}

std::string dtypes_of(const std::vector<const Row*>& rows) {
  std::set<std::string> dtypes;
  for (const Row* r : rows)
    if (const std::string d = field(*r, "dtype"); !d.empty()) dtypes.insert(d);
  return fmt::format("{}", fmt::join(dtypes, "/"));
}

// The machine line of a heat map: for a comparison, the platform's rows and the baseline's.
std::string heatmap_context(const CsvTable& t, const Heatmap& h, bool comparison) {
  const auto in_group = [&](const Row& r) {
    return field(r, "model_family") == h.spec.family && field(r, "mode") == h.spec.mode && field(r, "dtype") == h.spec.dtype;
  };
  if (!comparison) return machine_of(ok_rows(t, in_group));
  const std::vector<const Row*> mine = ok_rows(t, [&](const Row& r) { return in_group(r) && field(r, "platform") == h.spec.platform; });
  const std::string baseline = mine.empty() ? "" : field(*mine.front(), "baseline");
  const std::vector<const Row*> base = ok_rows(t, [&](const Row& r) { return in_group(r) && field(r, "platform") == baseline; });
  const std::string a = machine_of(mine), b = machine_of(base);
  return base.empty() ? a : fmt::format("{} ({}) over {} ({})", h.spec.platform, a, baseline, b);
}

bool numeric_everywhere(const std::vector<const Row*>& rows, const std::string& column) {
  for (const Row* r : rows)
    if (!number(*r, column)) return false;
  return true;
}

}  // namespace

ReportPart sensitivity_part(const CsvTable& results, const std::string& dir, const std::string& prefix) {
  ReportPart part{"Sensitivity", "", {}};
  const std::vector<SensitivityFit> fits = fit_sensitivity(results);
  const std::string csv = data_path(dir, prefix, "sensitivity");
  write_sensitivity_csv(fits, csv);
  part.text = "```\n" + format_sensitivity(fits) + "```\n\n";
  std::set<std::string> families;
  for (const SensitivityFit& f : fits)
    if (f.terms.size() > 1 && families.insert(f.group.family).second) {
      PlotJob job{"sensitivity", {csv}, plot_path(dir, prefix, "sensitivity-" + f.group.family),
                  fmt::format("{}: weight of log2(hyperparameter) on log2(examples/s)", f.group.family),
                  {{"family", f.group.family},
                   {"context", machine_of(ok_rows(results, [&](const Row& r) { return field(r, "model_family") == f.group.family; }))}}};
      part.text += image(job);
      part.plots.push_back(std::move(job));
    }
  return part;
}

std::vector<HeatmapSpec> default_heatmaps(const CsvTable& table, const std::string& value,
                                          std::vector<std::string>* skipped) {
  std::vector<HeatmapSpec> specs;
  for (const auto& [group, rows] : ok_rows_by_group(table)) {
    std::vector<std::string> axes;
    for (const std::string& a : varying_columns(rows, workload_axes()))
      if (numeric_everywhere(rows, a)) axes.push_back(a);
    if (axes.size() < 2) {
      if (skipped) skipped->push_back(group.label());
      continue;
    }
    const bool batch_varies = std::find(axes.begin(), axes.end(), "batch") != axes.end();
    const std::string x = axes[0] == "batch" ? axes[1] : axes[0];
    const std::string y = batch_varies ? "batch" : axes[1];
    specs.push_back({x, y, value, group.family, group.mode, group.dtype, ""});
  }
  return specs;
}

ReportPart heatmap_part(const CsvTable& table, const HeatmapSpec& spec, const std::string& dir,
                        const std::string& prefix) {
  const bool comparison = is_comparison(table);
  std::vector<HeatmapSpec> specs;
  if (!spec.family.empty() && !spec.mode.empty() && !spec.dtype.empty()) {
    specs.push_back(spec);
  } else {  // one per group that has both axes
    for (const auto& [group, rows] : ok_rows_by_group(table)) {
      if ((!spec.family.empty() && spec.family != group.family) || (!spec.mode.empty() && spec.mode != group.mode) ||
          (!spec.dtype.empty() && spec.dtype != group.dtype) || !numeric_everywhere(rows, spec.x) ||
          !numeric_everywhere(rows, spec.y))
        continue;
      HeatmapSpec s = spec;
      s.family = group.family;
      s.mode = group.mode;
      s.dtype = group.dtype;
      specs.push_back(s);
    }
    if (specs.empty())
      throw InputError(fmt::format("{}: no ok rows{} with numbers in both '{}' and '{}'", table.path,
                                   spec.family.empty() ? "" : " of family " + spec.family, spec.x, spec.y));
  }
  ReportPart part{"Heat maps", "", {}};
  for (const HeatmapSpec& s : specs) {
    Heatmap h;
    try {
      h = comparison ? pivot_comparison(table, s) : pivot_results(table, s);
    } catch (const InputError& e) {
      if (specs.size() == 1) throw;
      part.text += fmt::format("- {} {} {}: {}\n\n", s.family, s.mode, s.dtype, e.what());
      continue;
    }
    const std::string on = h.spec.platform.empty() ? "" : "-" + h.spec.platform;
    const std::string name = fmt::format("heatmap-{}-{}-{}-{}{}-{}-by-{}", h.spec.family, h.spec.mode, h.spec.dtype,
                                         h.spec.value, on, h.spec.y, h.spec.x);
    const std::string csv = data_path(dir, prefix, name);
    write_heatmap_csv(h, csv);
    const std::string what = h.spec.platform.empty() ? h.spec.value : h.spec.value + " of " + h.spec.platform;
    PlotJob job{"heatmap", {csv}, plot_path(dir, prefix, name),
                fmt::format("{} {} {}: {} by {} and {}", h.spec.family, h.spec.mode, h.spec.dtype, what, h.spec.x, h.spec.y),
                {{"x", h.spec.x}, {"y", h.spec.y}, {"value", h.spec.value}, {"context", heatmap_context(table, h, comparison)}}};
    part.text += image(job);
    part.plots.push_back(std::move(job));
  }
  return part;
}

ReportPart roofline_part(const CsvTable& results, const std::vector<Ceiling>& ceilings, const std::string& source,
                         const std::string& dir, const std::string& prefix) {
  ReportPart part{"Roofline", "", {}};
  const std::string points = data_path(dir, prefix, "roofline-points");
  const int n = write_roofline_points(results, points);
  part.text = fmt::format("{} measured points; ceilings: {}\n\n", n, source);
  if (n == 0) {
    part.text += "No ok row has both arithmetic_intensity and flops_per_s: no roofline plot.\n\n";
    return part;
  }
  PlotJob job{"roofline", {points}, plot_path(dir, prefix, "roofline"), "Roofline: attained FLOP/s by arithmetic intensity", {}};
  {
    const std::vector<const Row*> rows = ok_rows(results);
    const std::string machine = machine_of(rows), dtypes = dtypes_of(rows);
    job.options["context"] = machine.empty() ? dtypes : dtypes.empty() ? machine : machine + ", " + dtypes;
  }
  if (!ceilings.empty()) {
    const std::string roofs = data_path(dir, prefix, "roofline-ceilings");
    write_roofline_ceilings(ceilings, roofs);
    job.data.push_back(roofs);
  }
  part.text += image(job);
  part.plots.push_back(std::move(job));
  return part;
}

ReportPart speedup_part(const CsvTable& comparison, const std::string& dir, const std::string& prefix,
                        const std::string& notes) {
  ReportPart part{"Speedups", "", {}};
  const std::vector<SpeedupGroup> summary = summarize_comparison_table(comparison);
  const std::string csv = data_path(dir, prefix, "speedup-summary");
  write_speedup_summary_csv(summary, csv);
  const std::string baseline = comparison.rows.empty() ? "" : field(comparison.rows.front(), "baseline");
  part.text = fmt::format("Speedup in examples/s over {} (geometric mean, min and max over joined workloads)\n\n```\n{}```\n\n",
                          baseline, format_speedups(summary)) + notes;
  if (summary.empty()) {
    part.text += "No workload was ok on every platform: no speedup plots.\n\n";
    return part;
  }
  PlotJob bars{"speedup", {csv}, plot_path(dir, prefix, "speedup"), "Speedup over " + baseline + " (geometric mean, min-max)", {}};
  {
    std::vector<std::string> machines;
    std::set<std::string> seen;
    for (const Row& r : comparison.rows)
      if (const std::string p = field(r, "platform"); seen.insert(p).second) {
        const std::string m = machine_of(ok_rows(comparison, [&](const Row& x) { return field(x, "platform") == p; }));
        machines.push_back(m.empty() ? p : p + ": " + m);
      }
    bars.options["context"] = fmt::format("{}", fmt::join(machines, "; "));
  }
  part.text += image(bars);
  part.plots.push_back(std::move(bars));
  std::set<std::string> platforms;
  for (const SpeedupGroup& s : summary) platforms.insert(s.platform);
  for (const std::string& p : platforms)
    for (HeatmapSpec spec : default_heatmaps(comparison, "speedup")) {
      spec.platform = p;
      ReportPart maps = heatmap_part(comparison, spec, dir, prefix);
      part.text += maps.text;
      part.plots.insert(part.plots.end(), maps.plots.begin(), maps.plots.end());
    }
  return part;
}

}  // namespace paradnn::analysis
