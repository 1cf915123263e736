// The one point loop: every command that writes rows resumes, and a point that throws
// becomes a row with its reason while the others run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "models/catalog.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"
#include "runners/drivers/model_error.hpp"
#include "runners/drivers/quantize_search.hpp"
#include "runners/drivers/scale.hpp"
#include "runners/drivers/sweep.hpp"
#include "runners/drivers/task_accuracy.hpp"
#include "runners/drivers/tuner.hpp"
#include "runners/harness/point_loop.hpp"

using namespace paradnn;
namespace fs = std::filesystem;

namespace {

// Four FC points: train and infer at two widths, f32; and two int8 inference points.
const char* kTiny = R"(name: tiny
run: {warmup_s: 0, repetitions: 2, min_time_s: 0.001}
modes: [train, infer]
tune: {intra_threads: [1], inter_pools: [1], affinity: [none], holdout_every: 0}
sweeps:
  - family: fc
    axes: {nodes: [8, 16], batch: [8]}
    fixed: {layers: 1, input: 8, output: 4}
  - family: fc
    modes: [infer]
    dtypes: [int8]
    axes: {nodes: [16]}
    fixed: {layers: 2, input: 16, output: 4, batch: 8}
)";

std::string temp(const std::string& name) {
  const std::string p = testing::TempDir() + "/loop-" + std::to_string(getpid()) + "-" + name;  // one set per test process
  fs::remove(p);
  return p;
}

std::string config() {
  const std::string path = temp("tiny.yaml");
  std::ofstream(path) << kTiny;
  return path;
}

size_t rows_in(const std::string& path) { return read_csv(path).rows.size(); }

}  // namespace

TEST(PointLoop, AThrowingPointBecomesAFailureRowAndTheOthersRun) {
  const std::string cfg = config();
  const Config c = load_config(cfg, models::catalog());
  const std::string out = temp("throwing.csv");
  PointLoop loop(c, LoopOptions::of(cfg, out, "{}.csv", "dtype==f32", false, false));
  ASSERT_EQ(loop.points().size(), 4u);
  PointTask task;
  task.columns = {"point_key", "status", "reason"};
  task.describe = [](const GridEntry& e) -> Row { return {{"point_key", e.point.key()}}; };
  int calls = 0;
  task.run = [&](const GridEntry& e) -> std::vector<Row> {
    ++calls;
    if (calls == 1) throw std::runtime_error("kernel exploded");
    if (calls == 2) throw Unsupported("no such dtype here");
    return {{{"point_key", e.point.key()}, {"status", "ok"}}};
  };
  const LoopSummary s = loop.run(task, ManifestInfo{});
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.skipped, 1);
  EXPECT_EQ(s.ok, 2);
  const CsvTable t = read_csv(out);
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(t.rows[0].at("status"), "failed");
  EXPECT_EQ(t.rows[0].at("reason"), "kernel exploded");
  EXPECT_EQ(t.rows[1].at("status"), "skipped");
  EXPECT_EQ(t.rows[1].at("reason"), "no such dtype here");
  EXPECT_TRUE(fs::exists(loop.beside(".manifest.yaml")));  // every command's run leaves its manifest
}

TEST(PointLoop, BadInputStopsTheLoop) {
  const std::string cfg = config();
  const Config c = load_config(cfg, models::catalog());
  PointLoop loop(c, LoopOptions::of(cfg, temp("bad-input.csv"), "{}.csv", "", false, false));
  PointTask task;
  task.columns = {"point_key", "status", "reason"};
  task.describe = [](const GridEntry& e) -> Row { return {{"point_key", e.point.key()}}; };
  task.run = [](const GridEntry&) -> std::vector<Row> { throw InputError("bad.yaml:3: key 'x': expected y"); };
  EXPECT_THROW(loop.run(task, ManifestInfo{}), InputError);
}

TEST(PointLoop, ExistingOutputNeedsResumeOrForce) {
  const std::string cfg = config();
  const Config c = load_config(cfg, models::catalog());
  const std::string out = temp("exists.csv");
  std::ofstream(out) << "point_key\n";
  EXPECT_THROW(PointLoop(c, LoopOptions::of(cfg, out, "{}.csv", "", false, false)), InputError);
  EXPECT_THROW(PointLoop(c, LoopOptions::of(cfg, out, "{}.csv", "", true, true)), InputError);
  EXPECT_NO_THROW(PointLoop(c, LoopOptions::of(cfg, out, "{}.csv", "", true, false)));
  EXPECT_NO_THROW(PointLoop(c, LoopOptions::of(cfg, out, "{}.csv", "", false, true)));
}

// Each command: a first run on part of the points, a resumed run on all of them: every
// point ends up in the output exactly once, and a second resume adds nothing.
TEST(PointLoop, TuneResumes) {
  const std::string cfg = config(), out = temp("tune.csv");
  TuneOptions o;
  o.config_path = cfg;
  o.output = out;
  o.settings_output = temp("tune-settings.yaml");
  o.report_output = temp("tune.md");
  o.progress = false;
  o.filter = "dtype==f32,nodes==8";
  run_tune(o);
  const size_t first = rows_in(out);
  ASSERT_GT(first, 0u);
  o.filter = "dtype==f32";
  o.resume = true;
  const TuneSummary s = run_tune(o);
  EXPECT_EQ(s.workloads.size(), 4u);  // the resumed run's report covers the earlier workloads too
  EXPECT_EQ(rows_in(out), 2 * first);
  run_tune(o);
  EXPECT_EQ(rows_in(out), 2 * first);
}

TEST(PointLoop, ScaleResumes) {
  const std::string cfg = config(), out = temp("scale.csv");
  ScaleOptions o;
  o.config_path = cfg;
  o.output = out;
  o.node_flops = 1e12;  // analytic: nothing is timed
  o.nodes = {2, 4};
  o.filter = "nodes==8";
  run_scale(o);
  EXPECT_EQ(rows_in(out), 2u * 4u);  // one train point x 2 node counts x 4 algorithm/overlap variants
  o.filter = "";
  o.resume = true;
  run_scale(o);
  EXPECT_EQ(rows_in(out), 2u * 2u * 4u);
  run_scale(o);
  EXPECT_EQ(rows_in(out), 2u * 2u * 4u);
}

TEST(PointLoop, QuantizeSearchAndTaskAccuracyResume) {
  const std::string cfg = config();
  QuantizeSearchOptions q;
  q.config_path = cfg;
  q.output = temp("frontier.csv");
  quantize_search(q);
  const size_t frontier = rows_in(q.output);
  ASSERT_GT(frontier, 0u);
  q.resume = true;
  EXPECT_TRUE(quantize_search(q).empty());  // nothing left to search
  EXPECT_EQ(rows_in(q.output), frontier);
  QuantizeSearchOptions again = q;
  again.resume = false;
  EXPECT_THROW(quantize_search(again), InputError);  // the output exists

  TaskAccuracyOptions t;
  t.config_path = cfg;
  t.output = temp("task.csv");
  t.steps = 3;
  EXPECT_EQ(run_task_accuracy(t).rows.size(), 1u);
  t.resume = true;
  EXPECT_TRUE(run_task_accuracy(t).rows.empty());
  EXPECT_EQ(rows_in(t.output), 1u);

  // Two training-data seeds: means, spreads and the paired difference in the row.
  TaskAccuracyOptions seeded = t;
  seeded.resume = false;
  seeded.output = temp("task-seeds.csv");
  seeded.seeds = 2;
  ASSERT_EQ(run_task_accuracy(seeded).rows.size(), 1u);
  const Row r = read_csv(seeded.output, task_accuracy_columns()).rows.at(0);
  EXPECT_EQ(r.at("seeds"), "2");
  EXPECT_FALSE(r.at("f32_accuracy_sd").empty());
  EXPECT_FALSE(r.at("accuracy_delta_se").empty());
  EXPECT_NEAR(std::stod(r.at("accuracy_delta")), std::stod(r.at("reduced_accuracy")) - std::stod(r.at("f32_accuracy")), 1e-4);
  seeded.seeds = 0;
  seeded.force = true;
  EXPECT_THROW(run_task_accuracy(seeded), InputError);
}

TEST(PointLoop, SweepThenModelErrorResume) {
  const std::string cfg = config(), results = temp("measured.csv");
  SweepOptions s;
  s.config_path = cfg;
  s.output = results;
  s.filter = "dtype==f32";
  s.progress = false;
  s.ceilings = false;
  ASSERT_EQ(run_sweep(s).ok, 4);
  // A platform file with one ceiling of each kind, so nothing is probed.
  const std::string platform = temp("platform.yaml");
  std::ofstream(platform) << "machine: {platform: cpu, device_name: test, isa: x, cores: 2, sockets: 1, hardware_threads: 2, "
                             "memory_bytes: 1e9, versions: {}}\n"
                             "date_utc: now\nsettings: test\n"
                             "compute:\n  - {dtype: f32, threads: 2, flops_per_s: 1e11, spread: 0, method: fma_kernel}\n"
                             "bandwidth:\n  - {level: DRAM, threads: 2, bytes_per_s: 2e10, spread: 0, working_set_bytes: 1e9, "
                             "kernel: triad}\n";
  ModelErrorOptions m;
  m.config_path = cfg;
  m.results = results;
  m.platform = platform;
  m.output = temp("model-error.csv");
  m.filter = "mode==train";
  run_model_error(m);
  EXPECT_EQ(rows_in(m.output), 2u);
  m.filter = "";
  m.resume = true;
  const ModelErrorSummary e = run_model_error(m);
  EXPECT_EQ(rows_in(m.output), 4u);
  EXPECT_EQ(e.groups.at("all").first, 4u);  // the summary covers the earlier rows too
}
