// Comparing platforms: rows of the same workload (family, hyperparameters, mode, dtype,
// batch) joined across result files, each file's examples/s and speedup over a baseline.
// Workloads that are not ok everywhere are kept and reported, never silently dropped.
// Rows that match on the workload but were run with other settings (threads, pools,
// affinity, backend) are refused unless the caller ignores settings; each speedup carries
// a verdict (faster, slower or noise) from the repetitions behind it.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/ratio_summary.hpp"
#include "analysis/stats.hpp"
#include "analysis/workload.hpp"
#include "paradnn/csv.hpp"

namespace paradnn::analysis {

struct CompareOptions {
  double alpha = 0.05;           // significance level of the verdicts
  bool ignore_settings = false;  // join rows run with other settings (and say which differ)
};

// Per-repetition seconds per step from the reps file beside a results file, by point_key
// and then run_id (a resumed file can hold several runs).
using Repetitions = std::map<std::string, std::map<std::string, std::vector<double>>>;

// One result file in a comparison, named by its file stem (or path where stems collide).
struct CompareInput {
  std::string name;
  CsvTable table;
  bool simulated = false;            // some rows have source=simulated (a performance model, not a timing)
  std::optional<Repetitions> reps;   // absent where the file has no reps file
};

// The columns besides the workload that say how a row was run; rows joined across inputs
// must agree on them. settings_file only where the rows carry it.
const std::vector<std::string>& setting_columns();

// `<results stem>.reps.csv` beside a results file.
std::string reps_path(const std::string& results_path);
// Reads a reps file (columns run_id, point_key, repetition, time_per_step_s).
Repetitions read_repetitions(const std::string& path);

// Whether a platform's speedup over the baseline is more than noise, and how that was told:
// "mann-whitney" on both sides' repetitions, else "p10-p90" (ranges apart or overlapping),
// else "none" (verdict "unknown").
struct PointVerdict {
  std::string verdict;  // faster, slower, noise, unknown; empty for the baseline itself
  std::optional<double> p_value;
  std::string test;
};

// A workload measured ok in every input.
struct JoinedPoint {
  std::string key;
  std::vector<size_t> rows;            // per input, the row's index in its table
  std::vector<double> examples_per_s;  // per input
  std::vector<PointVerdict> verdicts;  // per input, against the baseline
  std::vector<std::string> settings_differ;  // per input: settings unlike the baseline's, comma-separated
};

// A workload that is not ok in every input: one state per input, "ok", "absent" or its
// status and reason ("failed: out of memory").
struct UnjoinedPoint {
  std::string key;
  std::vector<std::string> states;
};

struct SpeedupGroup {
  std::string platform;  // the input compared with the baseline
  Group group;           // family "all" for the row over every group
  RatioSummary speedup;
  Interval interval;     // bootstrap 95% interval on the geometric mean
  int faster = 0, slower = 0, noise = 0, unknown = 0;  // points by verdict
};

struct Comparison {
  std::vector<CompareInput> inputs;
  size_t baseline = 0;
  std::vector<std::string> hyperparameters;  // hyperparameter columns set in some joined row
  std::vector<JoinedPoint> joined;
  std::vector<UnjoinedPoint> one_side_only;  // absent from at least one input
  std::vector<UnjoinedPoint> not_ok;         // in every input, but not ok in at least one
  std::vector<SpeedupGroup> summary;         // per non-baseline input: each family/mode/dtype, then "all"
  std::vector<int> not_ok_rows;              // per input: rows with a status other than ok
};

// Geometric-mean speedup per platform and family/mode/dtype, each platform followed by its
// "all" row, from (platform, group, speedup) samples in any order.
struct SpeedupSample {
  std::string platform;
  Group group;
  double speedup = 0;
  std::string verdict;  // faster, slower, noise; anything else counts as unknown
};
std::vector<SpeedupGroup> summarize_speedups(const std::vector<SpeedupSample>& samples);
// The same from a comparison CSV's rows (the baseline's own rows left out).
std::vector<SpeedupGroup> summarize_comparison_table(const CsvTable& comparison);
void write_speedup_summary_csv(const std::vector<SpeedupGroup>& summary, const std::string& path);

// Names for inputs: file stems, or the paths given where two stems are the same.
std::vector<std::string> input_names(const std::vector<std::string>& paths);

// Reads the result files (schema version checked) and their reps files where present,
// rejects a workload appearing twice in one file (InputError naming file, both lines and the
// key) and joins. `baseline` is an input's name or path; empty means the first input.
// Joined rows with other settings are an InputError listing them, unless ignore_settings.
Comparison compare_result_files(const std::vector<std::string>& paths, const std::string& baseline,
                                const CompareOptions& options = {});
Comparison compare_tables(std::vector<CompareInput> inputs, size_t baseline, const CompareOptions& options = {});

// The tidy table: one row per joined workload and input (platform = the input's name) with
// examples_per_s, speedup over the baseline, its verdict, p_value and test, the row's
// settings and the settings that differ from the baseline's.
std::vector<std::string> comparison_columns(const Comparison& c);
void write_comparison_csv(const Comparison& c, const std::string& path);

// Reads a file write_comparison_csv wrote (schema version checked).
CsvTable read_comparison(const std::string& path);
bool is_comparison(const CsvTable& table);

}  // namespace paradnn::analysis
