// The one per-point loop every command that writes rows runs. It owns what those commands
// share: the points (config, --filter, --shard), the output's name and guard (--force,
// --resume), the run id and manifest, progress, Ctrl-C, a failure row for a point that throws,
// and the rows, written and flushed as each point ends. A driver supplies what one point does
// (as benchdnn's task executor takes each primitive driver's functions).
#pragma once
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "paradnn/csv.hpp"
#include "paradnn/grid.hpp"
#include "runners/harness/load_guard.hpp"
#include "runners/harness/manifest.hpp"

namespace paradnn {

struct LoopOptions {
  std::string config_path;
  std::string output;                       // -o; empty: results/ + default_output with the config's name
  std::string default_output = "{}.csv";    // e.g. "tune-{}.csv", "{}.frontier.csv"
  std::string filter, shard;                // --filter, --shard
  bool resume = false, force = false;
  bool progress = true;                     // a progress bar where stderr is a terminal
  bool write = true;                        // false: run every point, write nothing (MPI ranks but 0)
  // Called once the output's state is read and before it is written (MPI: all ranks looked).
  std::function<void()> before_writing;

  // What most commands set: their config, -o and its default, --filter, --resume, --force.
  static LoopOptions of(std::string config_path, std::string output, std::string default_output, std::string filter,
                        bool resume, bool force) {
    LoopOptions o;
    o.config_path = std::move(config_path);
    o.output = std::move(output);
    o.default_output = std::move(default_output);
    o.filter = std::move(filter);
    o.resume = resume;
    o.force = force;
    return o;
  }
};

// What one point does, supplied by a driver.
struct PointTask {
  std::vector<std::string> columns;                   // of the rows it writes; one is point_key
  std::function<bool(const GridEntry&)> wants;        // optional: the points this command runs at all
  std::function<void(GridEntry&)> settle;             // optional: fixes the point before it is looked up
                                                      // in the output (--max-batch picks its batch)
  std::function<Row(const GridEntry&)> describe;      // identity columns; a failure row starts from these
  std::function<std::string(const GridEntry&)> key;   // optional: the point_key its rows carry (default
                                                      // the point's; data-parallel rows name the global batch)
  std::function<std::vector<Row>(const GridEntry&)> run;  // the point's rows (a status column where it has one)
  // Optional: called once the point's rows are in the output, for files beside it that must
  // not run ahead of it (a point whose row is missing runs again on --resume).
  std::function<void(const GridEntry&)> written;
  // Optional: the load around each measurement the point took (tune: one per setting). Without
  // it the loop records the load before and after the whole point. Both go to the manifest.
  std::function<std::vector<LoadRecord>(const GridEntry&)> loads;
  // False where the points only predict (performance models): there is no measurement for
  // other work to disturb, and reading /proc per point would cost more than the prediction.
  bool measures = true;
};

struct LoopSummary {
  int ok = 0, failed = 0, skipped = 0, already_done = 0;
  double wall_s = 0;
  bool interrupted = false;
};

class PointLoop {
 public:
  // Selects the points and names the output; refuses an existing output without
  // --resume or --force (InputError). Writes nothing yet.
  PointLoop(const Config& config, LoopOptions options);

  const std::vector<GridEntry>& points() const { return points_; }
  const std::string& output() const { return output_; }
  const std::string& run_id() const { return run_id_; }
  // A file beside the output: <output stem><suffix>, e.g. ".manifest.yaml", ".ops.csv".
  std::string beside(const std::string& suffix) const;

  // Runs `task` on every selected point it wants that the output lacks (--resume), after
  // writing the run's manifest beside the output (run id and point count filled in here).
  LoopSummary run(const PointTask& task, ManifestInfo manifest);

 private:
  LoopOptions o_;
  Config config_;
  std::vector<GridEntry> points_;
  std::string output_, run_id_;
};

// True once a loop in this process stopped early on Ctrl-C; the CLI then prints the resume
// hint and exits 130, whichever command ran the loop.
bool a_run_was_interrupted();

// results/<config name (or the file's stem)> formatted into `pattern` ("{}" stands for it).
std::string default_output(const Config& config, const std::string& config_path, const std::string& pattern);

// A new run id: the UTC date and 32 random bits, e.g. 2026-12-01-3fa2c81b.
std::string new_run_id();

// The points a command runs: the config's grid after --filter and --shard.
std::vector<GridEntry> select_points(const Config& config, const std::string& filter, const std::string& shard);

// Deterministic split of points over n shards balanced by estimated cost (largest first
// onto the least-loaded shard). Returns the points of shard i (1-based).
std::vector<GridEntry> shard_points(const std::vector<GridEntry>& points, int i, int n);

// Seconds a point is expected to take (warm-up, repetitions, preparation) at `flops_per_s`.
double estimated_point_seconds(const GridEntry& e, const RunOptions& run, double flops_per_s);

}  // namespace paradnn
