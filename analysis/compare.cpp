#include "analysis/compare.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "paradnn/error.hpp"

namespace paradnn::analysis {

namespace {

std::string state_of(const Row& r) {
  const std::string reason = field(r, "reason");
  return field(r, "status") + (reason.empty() ? "" : ": " + reason);
}

// Workload key -> row index. A workload twice in one file has no single answer to join.
std::map<std::string, size_t> index_workloads(const CompareInput& in) {
  const CsvTable& t = in.table;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const std::string key = workload_key(t.rows[i]);
    const auto [it, inserted] = index.emplace(key, i);
    if (!inserted)
      throw InputError(fmt::format("{}:{}: workload {} appears twice in this file (first at line {}); "
                                   "compare needs one result per workload per file",
                                   t.path, t.lines[i], key, t.lines[it->second]));
    if (status_of(t.rows[i]) != Status::ok) continue;
    const auto eps = number(t.rows[i], "examples_per_s");
    if (!eps || !(*eps > 0))
      throw InputError(fmt::format("{}:{}: status ok but examples_per_s is '{}', not a positive number", t.path,
                                   t.lines[i], field(t.rows[i], "examples_per_s")));
  }
  return index;
}

void summarize(Comparison& c) {
  std::vector<SpeedupSample> samples;
  for (size_t p = 0; p < c.inputs.size(); ++p)
    if (p != c.baseline)
      for (const JoinedPoint& j : c.joined)
        samples.push_back({c.inputs[p].name, group_of(c.inputs[p].table.rows[j.rows[p]]),
                           j.examples_per_s[p] / j.examples_per_s[c.baseline], j.verdicts[p].verdict});
  c.summary = summarize_speedups(samples);
}

// The repetitions of a row: its run's where the reps file has several runs of the point.
const std::vector<double>* repetitions_of(const CompareInput& in, const Row& row) {
  if (!in.reps) return nullptr;
  const auto point = in.reps->find(field(row, "point_key"));
  if (point == in.reps->end()) return nullptr;
  const auto run = point->second.find(field(row, "run_id"));
  if (run != point->second.end()) return &run->second;
  return point->second.size() == 1 ? &point->second.begin()->second : nullptr;
}

// Faster or slower where the test says the difference is real, in the speedup's direction.
PointVerdict verdict_of(const CompareInput& in, const Row& row, const CompareInput& base, const Row& base_row,
                        double speedup, double alpha) {
  const auto direction = [&] { return speedup >= 1 ? "faster" : "slower"; };
  const std::vector<double>* reps = repetitions_of(in, row);
  const std::vector<double>* base_reps = repetitions_of(base, base_row);
  if (reps && base_reps && !reps->empty() && !base_reps->empty()) {
    const double p = mann_whitney_u(*reps, *base_reps).p_value;
    return {p < alpha ? direction() : "noise", p, "mann-whitney"};
  }
  const auto lo = number(row, "time_per_step_s_p10"), hi = number(row, "time_per_step_s_p90");
  const auto base_lo = number(base_row, "time_per_step_s_p10"), base_hi = number(base_row, "time_per_step_s_p90");
  if (!lo || !hi || !base_lo || !base_hi) return {"unknown", std::nullopt, "none"};
  const bool apart = *hi < *base_lo || *lo > *base_hi;
  return {apart ? direction() : "noise", std::nullopt, "p10-p90"};
}

// Settings of `row` unlike the baseline row's.
std::vector<std::string> differing_settings(const Row& row, const Row& base_row) {
  std::vector<std::string> differ;
  for (const std::string& s : setting_columns())
    if (field(row, s) != field(base_row, s)) differ.push_back(s);
  return differ;
}

// Each joined point's verdicts and settings differences; refused mismatches listed.
void judge(Comparison& c, const CompareOptions& options) {
  const CompareInput& base = c.inputs[c.baseline];
  std::vector<std::string> mismatches;
  for (JoinedPoint& j : c.joined) {
    const Row& base_row = base.table.rows[j.rows[c.baseline]];
    for (size_t p = 0; p < c.inputs.size(); ++p) {
      const Row& row = c.inputs[p].table.rows[j.rows[p]];
      const std::vector<std::string> differ = differing_settings(row, base_row);
      j.settings_differ.push_back(fmt::format("{}", fmt::join(differ, ",")));
      j.verdicts.push_back(p == c.baseline ? PointVerdict{}
                                           : verdict_of(c.inputs[p], row, base, base_row,
                                                        j.examples_per_s[p] / j.examples_per_s[c.baseline],
                                                        options.alpha));
      // Platforms are what a comparison compares: other backends' settings are only flagged.
      if (differ.empty() || field(row, "backend") != field(base_row, "backend")) continue;
      std::vector<std::string> what;
      for (const std::string& s : differ) what.push_back(fmt::format("{} '{}' vs '{}'", s, field(row, s), field(base_row, s)));
      mismatches.push_back(fmt::format("  {} in {} vs {}: {}", j.key, c.inputs[p].name, base.name, fmt::join(what, ", ")));
    }
  }
  if (mismatches.empty() || options.ignore_settings) return;
  const size_t shown = std::min<size_t>(mismatches.size(), 20);
  throw InputError(fmt::format(
      "{} joined row(s) were run with other settings than the baseline's, so their speedups would not "
      "measure the platform alone (pass --ignore-settings to join them anyway):\n{}{}",
      mismatches.size(), fmt::join(mismatches.begin(), mismatches.begin() + static_cast<long>(shown), "\n"),
      mismatches.size() > shown ? fmt::format("\n  ... and {} more", mismatches.size() - shown) : ""));
}

void check_version(const CsvTable& t) {
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (field(t.rows[i], "schema_version") != std::to_string(kSchemaVersion))
      throw InputError(fmt::format("{}:{}: schema_version {}, this paradnn reads version {}", t.path, t.lines[i],
                                   field(t.rows[i], "schema_version"), kSchemaVersion));
}

// Geomean, range, bootstrap interval and verdict counts of some samples.
SpeedupGroup summary_of(const std::string& platform, const Group& group, const std::vector<const SpeedupSample*>& samples) {
  std::vector<double> speedups;
  SpeedupGroup g{platform, group, {}, {}};
  for (const SpeedupSample* s : samples) {
    speedups.push_back(s->speedup);
    (s->verdict == "faster" ? g.faster : s->verdict == "slower" ? g.slower : s->verdict == "noise" ? g.noise : g.unknown)++;
  }
  g.speedup = summarize_ratios(speedups);
  if (!speedups.empty()) g.interval = bootstrap_geomean_interval(speedups);
  return g;
}

}  // namespace

const std::vector<std::string>& setting_columns() {
  static const std::vector<std::string> columns{"backend", "dtype", "intra_threads", "inter_pools", "affinity",
                                                "settings_file"};
  return columns;
}

std::string reps_path(const std::string& results_path) {
  const std::filesystem::path p(results_path);
  return (p.parent_path() / (p.stem().string() + ".reps.csv")).string();
}

Repetitions read_repetitions(const std::string& path) {
  const CsvTable t = read_csv(path, {"run_id", "point_key", "repetition", "time_per_step_s"});
  Repetitions reps;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const auto s = number(t.rows[i], "time_per_step_s");
    if (!s || !(*s > 0))
      throw InputError(fmt::format("{}:{}: time_per_step_s '{}' is not a positive number", path, t.lines[i],
                                   field(t.rows[i], "time_per_step_s")));
    reps[field(t.rows[i], "point_key")][field(t.rows[i], "run_id")].push_back(*s);
  }
  return reps;
}

std::vector<SpeedupGroup> summarize_speedups(const std::vector<SpeedupSample>& samples) {
  std::vector<std::string> platforms;  // in order of first appearance
  std::map<std::string, std::map<Group, std::vector<const SpeedupSample*>>> by_group;
  std::map<std::string, std::vector<const SpeedupSample*>> all;
  for (const SpeedupSample& s : samples) {
    if (!all.count(s.platform)) platforms.push_back(s.platform);
    by_group[s.platform][s.group].push_back(&s);
    all[s.platform].push_back(&s);
  }
  std::vector<SpeedupGroup> out;
  for (const std::string& p : platforms) {
    for (const auto& [g, group_samples] : by_group[p]) out.push_back(summary_of(p, g, group_samples));
    out.push_back(summary_of(p, {"all", "", ""}, all[p]));
  }
  return out;
}

std::vector<SpeedupGroup> summarize_comparison_table(const CsvTable& comparison) {
  std::vector<SpeedupSample> samples;
  for (size_t i = 0; i < comparison.rows.size(); ++i) {
    const Row& r = comparison.rows[i];
    if (field(r, "platform") == field(r, "baseline")) continue;
    const auto s = number(r, "speedup");
    if (!s || !(*s > 0))
      throw InputError(fmt::format("{}:{}: speedup '{}' is not a positive number", comparison.path, comparison.lines[i],
                                   field(r, "speedup")));
    samples.push_back({field(r, "platform"), group_of(r), *s, field(r, "verdict")});
  }
  return summarize_speedups(samples);
}

void write_speedup_summary_csv(const std::vector<SpeedupGroup>& summary, const std::string& path) {
  std::vector<Row> rows;
  for (const SpeedupGroup& s : summary)
    rows.push_back({{"platform", s.platform}, {"model_family", s.group.family}, {"mode", s.group.mode},
                    {"dtype", s.group.dtype}, {"points", std::to_string(s.speedup.count)},
                    {"geomean", fmt::format("{:.6g}", s.speedup.geomean)}, {"min", fmt::format("{:.6g}", s.speedup.min)},
                    {"max", fmt::format("{:.6g}", s.speedup.max)}, {"ci95_lo", fmt::format("{:.6g}", s.interval.lo)},
                    {"ci95_hi", fmt::format("{:.6g}", s.interval.hi)}, {"faster", std::to_string(s.faster)},
                    {"slower", std::to_string(s.slower)}, {"noise", std::to_string(s.noise)}});
  write_csv_file(path, {"platform", "model_family", "mode", "dtype", "points", "geomean", "min", "max", "ci95_lo",
                        "ci95_hi", "faster", "slower", "noise"},
                 rows);
}

std::vector<std::string> input_names(const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  std::set<std::string> stems;
  bool collide = false;
  for (const std::string& p : paths) collide = !stems.insert(std::filesystem::path(p).stem().string()).second || collide;
  std::map<std::string, int> seen;  // the same file given twice gets name#2
  for (const std::string& p : paths) {
    const std::string name = collide ? p : std::filesystem::path(p).stem().string();
    const int n = ++seen[name];
    names.push_back(n > 1 ? fmt::format("{}#{}", name, n) : name);
  }
  return names;
}

Comparison compare_result_files(const std::vector<std::string>& paths, const std::string& baseline,
                                const CompareOptions& options) {
  if (paths.size() < 2) throw InputError("compare needs at least two result files");
  const std::vector<std::string> names = input_names(paths);
  std::vector<CompareInput> inputs;
  size_t base = baseline.empty() ? 0 : paths.size();
  for (size_t i = 0; i < paths.size(); ++i) {
    CompareInput in{names[i], read_results(paths[i]), false, std::nullopt};
    if (std::filesystem::exists(reps_path(paths[i]))) in.reps = read_repetitions(reps_path(paths[i]));
    if (std::find(in.table.header.begin(), in.table.header.end(), "examples_per_s") == in.table.header.end())
      throw InputError(paths[i] + ":1: missing column 'examples_per_s'");
    for (const Row& r : in.table.rows) in.simulated = in.simulated || field(r, "source") == "simulated";
    if (baseline == names[i] || baseline == paths[i]) base = i;
    inputs.push_back(std::move(in));
  }
  if (base == paths.size())
    throw InputError(fmt::format("--baseline {}: not one of the inputs ({})", baseline, fmt::join(names, ", ")));
  return compare_tables(std::move(inputs), base, options);
}

Comparison compare_tables(std::vector<CompareInput> inputs, size_t baseline, const CompareOptions& options) {
  if (inputs.size() < 2) throw InputError("compare needs at least two result files");
  if (baseline >= inputs.size()) throw std::logic_error("baseline index out of range");
  Comparison c;
  c.inputs = std::move(inputs);
  c.baseline = baseline;
  std::vector<std::map<std::string, size_t>> index;
  std::vector<std::string> order;  // first input's order, then workloads new in later inputs
  std::set<std::string> seen;
  for (const CompareInput& in : c.inputs) {
    index.push_back(index_workloads(in));
    for (const Row& r : in.table.rows)
      if (seen.insert(workload_key(r)).second) order.push_back(workload_key(r));
    int not_ok = 0;
    for (const Row& r : in.table.rows) not_ok += status_of(r) != Status::ok;
    c.not_ok_rows.push_back(not_ok);
  }
  std::set<std::string> hyperparameters;
  for (const std::string& key : order) {
    UnjoinedPoint u{key, {}};
    JoinedPoint j;
    j.key = key;
    bool absent = false, all_ok = true;
    for (size_t p = 0; p < c.inputs.size(); ++p) {
      const auto it = index[p].find(key);
      if (it == index[p].end()) {
        u.states.push_back("absent");
        absent = true;
        all_ok = false;
        continue;
      }
      const Row& r = c.inputs[p].table.rows[it->second];
      u.states.push_back(state_of(r));
      all_ok = all_ok && status_of(r) == Status::ok;
      j.rows.push_back(it->second);
      if (all_ok) j.examples_per_s.push_back(*number(r, "examples_per_s"));
    }
    if (all_ok) {
      for (const std::string& h : hyperparameter_columns())
        if (!field(c.inputs[0].table.rows[j.rows[0]], h).empty()) hyperparameters.insert(h);
      c.joined.push_back(std::move(j));
    } else {
      (absent ? c.one_side_only : c.not_ok).push_back(std::move(u));
    }
  }
  for (const std::string& h : hyperparameter_columns())
    if (hyperparameters.count(h)) c.hyperparameters.push_back(h);
  judge(c, options);
  summarize(c);
  return c;
}

std::vector<std::string> comparison_columns(const Comparison& c) {
  std::vector<std::string> cols{"schema_version", "model_family", "mode", "dtype", "batch"};
  cols.insert(cols.end(), c.hyperparameters.begin(), c.hyperparameters.end());
  for (const char* s : {"workload_key", "platform", "device_name", "source", "examples_per_s", "baseline", "speedup",
                        "verdict", "p_value", "test", "backend", "intra_threads", "inter_pools", "affinity",
                        "settings_differ"})
    cols.push_back(s);
  return cols;
}

void write_comparison_csv(const Comparison& c, const std::string& path) {
  const std::vector<std::string> cols = comparison_columns(c);
  std::vector<Row> rows;
  for (const JoinedPoint& j : c.joined)
    for (size_t p = 0; p < c.inputs.size(); ++p) {
      const Row& src = c.inputs[p].table.rows[j.rows[p]];
      Row r;
      for (const std::string& col : cols) r[col] = field(src, col);
      r["schema_version"] = std::to_string(kSchemaVersion);
      r["workload_key"] = j.key;
      r["platform"] = c.inputs[p].name;
      r["examples_per_s"] = fmt::format("{}", j.examples_per_s[p]);
      r["baseline"] = c.inputs[c.baseline].name;
      r["speedup"] = fmt::format("{}", j.examples_per_s[p] / j.examples_per_s[c.baseline]);
      r["verdict"] = j.verdicts[p].verdict;
      r["p_value"] = j.verdicts[p].p_value ? fmt::format("{:.4g}", *j.verdicts[p].p_value) : "";
      r["test"] = j.verdicts[p].test;
      r["settings_differ"] = j.settings_differ[p];
      rows.push_back(std::move(r));
    }
  write_csv_file(path, cols, rows);
}

CsvTable read_comparison(const std::string& path) {
  CsvTable t = read_csv(path, {"schema_version", "model_family", "mode", "dtype", "batch", "platform",
                               "examples_per_s", "baseline", "speedup"});
  check_version(t);
  return t;
}

bool is_comparison(const CsvTable& table) {
  const auto has = [&](const char* c) { return std::find(table.header.begin(), table.header.end(), c) != table.header.end(); };
  return has("speedup") && has("baseline") && has("platform");
}

}  // namespace paradnn::analysis
