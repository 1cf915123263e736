#include "analysis/summary_table.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

namespace paradnn::analysis {

namespace {

std::string times(double v) { return fmt::format("{:.3g}x", v); }

void list_unjoined(std::string& out, const Comparison& c, const std::vector<UnjoinedPoint>& points, size_t limit) {
  for (size_t i = 0; i < points.size() && i < limit; ++i) {
    std::vector<std::string> states;
    for (size_t p = 0; p < c.inputs.size(); ++p) states.push_back(c.inputs[p].name + " " + points[i].states[p]);
    out += fmt::format("  {}  ({})\n", points[i].key, fmt::join(states, "; "));
  }
  if (points.size() > limit) out += fmt::format("  ... and {} more\n", points.size() - limit);
}

}  // namespace

std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 3);
  for (size_t i = 0; i < header.size(); ++i) width[i] = std::max(width[i], header[i].size());
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (size_t i = 0; i < width.size(); ++i) s += fmt::format(" {:<{}} |", i < cells.size() ? cells[i] : "", width[i]);
    return s + "\n";
  };
  std::string out = line(header) + "|";
  for (size_t w : width) out += std::string(w + 2, '-') + "|";
  out += "\n";
  for (const auto& r : rows) out += line(r);
  return out;
}

std::string format_speedups(const std::vector<SpeedupGroup>& summary, const std::vector<CompareInput>& inputs) {
  std::vector<std::vector<std::string>> rows;
  for (const SpeedupGroup& s : summary) {
    const RatioSummary& r = s.speedup;
    const bool sim = std::any_of(inputs.begin(), inputs.end(),
                                 [&](const CompareInput& in) { return in.name == s.platform && in.simulated; });
    rows.push_back({s.platform + (sim ? " (simulated)" : ""), s.group.family, s.group.mode, s.group.dtype,
                    std::to_string(r.count), r.count ? times(r.geomean) : "-", r.count ? times(r.min) : "-",
                    r.count ? times(r.max) : "-"});
  }
  return markdown_table({"platform", "family", "mode", "dtype", "points", "geomean", "min", "max"}, rows);
}

std::string format_comparison(const Comparison& c, size_t list_limit) {
  const CompareInput& base = c.inputs[c.baseline];
  std::string out = fmt::format("Speedup in examples/s over the baseline {}{} (geometric mean over joined workloads)\n\n",
                                base.name, base.simulated ? " (contains simulated rows)" : "");
  return out + format_speedups(c.summary, c.inputs) + "\n" + format_join_report(c, list_limit);
}

std::string format_join_report(const Comparison& c, size_t list_limit) {
  std::string out = fmt::format("joined: {} workload(s) ok in all {} inputs\n", c.joined.size(), c.inputs.size());
  out += fmt::format("one side only: {} workload(s) absent from at least one input\n", c.one_side_only.size());
  list_unjoined(out, c, c.one_side_only, list_limit);
  std::vector<std::string> per_input;
  for (size_t p = 0; p < c.inputs.size(); ++p) per_input.push_back(fmt::format("{} {}", c.inputs[p].name, c.not_ok_rows[p]));
  out += fmt::format("not ok: {} workload(s) in every input but not ok in some (rows not ok: {})\n", c.not_ok.size(),
                     fmt::join(per_input, ", "));
  list_unjoined(out, c, c.not_ok, list_limit);
  return out;
}

std::string format_sensitivity(const std::vector<SensitivityFit>& fits) {
  std::vector<std::string> terms;
  for (const SensitivityFit& f : fits)
    for (const SensitivityTerm& t : f.terms)
      if (t.transform != "intercept" && std::find(terms.begin(), terms.end(), t.name) == terms.end()) terms.push_back(t.name);
  std::vector<std::string> header{"family", "mode", "dtype", "points", "R^2"};
  header.insert(header.end(), terms.begin(), terms.end());
  std::vector<std::vector<std::string>> rows;
  std::string notes;
  for (const SensitivityFit& f : fits) {
    std::vector<std::string> r{f.group.family, f.group.mode, f.group.dtype, std::to_string(f.points),
                               f.terms.empty() || std::isnan(f.r2) ? "-" : fmt::format("{:.3f}", f.r2)};
    for (const std::string& name : terms) {
      const auto it = std::find_if(f.terms.begin(), f.terms.end(), [&](const SensitivityTerm& t) { return t.name == name; });
      r.push_back(it == f.terms.end() ? "" : fmt::format("{:+.3f}", it->weight));
    }
    rows.push_back(std::move(r));
    if (!f.note.empty()) notes += fmt::format("{}: {}\n", f.group.label(), f.note);
  }
  std::string out =
      "Weights of log2(examples/s) on log2 of each hyperparameter (throughput x 2^weight per doubling)\n\n";
  return out + markdown_table(header, rows) + (notes.empty() ? "" : "\n" + notes);
}

}  // namespace paradnn::analysis
