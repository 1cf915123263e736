// Turns a point, its graph and its measurement into a results CSV row (schema in paradnn/csv.hpp).
#pragma once
#include <optional>
#include <string>

#include "paradnn/csv.hpp"
#include "paradnn/point.hpp"
#include "paradnn/platform_file.hpp"
#include "runners/harness/timing.hpp"

namespace paradnn {

struct RunContext {
  std::string run_id, config_path, backend_name, output;
  bool simulated = false;
  PlatformInfo platform;
  Settings settings;
  int intra_threads = 0;                  // threads actually used
  std::optional<PlatformFile> ceilings;
};

// Identity, hyperparameters, settings and analytic counts; status left for the caller.
Row base_row(const RunContext& ctx, const Point& p, const Graph* g);
// Why `m` cannot stand behind an `ok` row (no positive, finite step time), or nullopt.
std::optional<std::string> measurement_problem(const Measurement& m);
// Fills times, rates, and the roofline placement where ceilings are known. Throws
// std::runtime_error (the point's row becomes `failed`) when measurement_problem says so.
void fill_measurement(Row& row, const RunContext& ctx, const Point& p, const Graph& g, const Measurement& m);
// The command that re-runs exactly this point.
std::string repro_command(const RunContext& ctx, const Point& p);
std::string utc_now();
std::string format_number(double v);

}  // namespace paradnn

namespace paradnn {

// With --per-op: one row per op and phase from Executable::profile(), and the step's
// overhead_s (median step time minus the sum of its ops' own times) set in `row`.
void write_op_rows(CsvWriter& out, Row& row, const Graph& g, Executable& exe, const Measurement& m,
                   const RunContext& ctx);

}  // namespace paradnn
