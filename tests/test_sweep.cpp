// The sweep end to end on the real CPU backend: rows, resume, interruption, skips, shards.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "models/catalog.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"
#include "runners/drivers/sweep.hpp"

using namespace paradnn;
namespace fs = std::filesystem;

namespace {

const char* kTiny = R"(name: tiny
run: {warmup_s: 0, repetitions: 2, min_time_s: 0.001}
modes: [train, infer]
sweeps:
  - family: fc
    axes: {nodes: [8, 16], batch: [4, 8]}
    fixed: {layers: 1, input: 8, output: 4}
)";

std::string write_config(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

SweepOptions options(const std::string& config, const std::string& out) {
  SweepOptions o;
  o.config_path = config;
  o.output = out;
  o.progress = false;
  o.ceilings = false;  // no roofline probe in unit tests
  return o;
}

std::string fresh(const std::string& name) {
  const std::string p = testing::TempDir() + "/" + name;
  fs::remove(p);
  return p;
}

}  // namespace

TEST(Sweep, OneRowPerPointWithCountsAndManifest) {
  const std::string out = fresh("tiny.csv");
  const SweepSummary s = run_sweep(options(write_config("tiny.yaml", kTiny), out));
  EXPECT_EQ(s.ok, 8);
  const CsvTable t = read_results(out);
  ASSERT_EQ(t.rows.size(), 8u);
  std::set<std::string> keys;
  for (const Row& r : t.rows) {
    keys.insert(r.at("point_key"));
    EXPECT_EQ(r.at("status"), "ok") << r.at("reason");
    EXPECT_EQ(r.at("source"), "measured");
    EXPECT_GT(std::stod(r.at("examples_per_s")), 0);
    EXPECT_LE(std::stod(r.at("time_per_step_s_p10")), std::stod(r.at("time_per_step_s_median")));
    EXPECT_LE(std::stod(r.at("time_per_step_s_median")), std::stod(r.at("time_per_step_s_p90")));
    EXPECT_EQ(r.at("repetitions"), "2");
    EXPECT_FALSE(r.at("repro").empty());
  }
  EXPECT_EQ(keys.size(), 8u);
  // flops_per_step is the graph's analytic count: fc layers=1 nodes=8 batch=4 infer.
  for (const Row& r : t.rows)
    if (r.at("nodes") == "8" && r.at("batch") == "4" && r.at("mode") == "infer") {
      EXPECT_EQ(r.at("flops_per_step"), "928");  // dense 2*4*8*8+32, relu 32, dense 2*4*8*4+16, loss 5*16
    }
  EXPECT_TRUE(fs::exists(s.manifest));
}

TEST(Sweep, ExistingFileIsNeverOverwrittenWithoutForce) {
  const std::string out = fresh("keep.csv");
  const std::string cfg = write_config("tiny.yaml", kTiny);
  run_sweep(options(cfg, out));
  EXPECT_THROW(run_sweep(options(cfg, out)), InputError);
  SweepOptions f = options(cfg, out);
  f.force = true;
  EXPECT_EQ(run_sweep(f).ok, 8);
  EXPECT_EQ(read_results(out).rows.size(), 8u);
}

TEST(Sweep, ResumeRunsOnlyTheMissingPoints) {
  const std::string out = fresh("resume.csv");
  const std::string cfg = write_config("tiny.yaml", kTiny);
  SweepOptions part = options(cfg, out);
  part.filter = "nodes==8";
  EXPECT_EQ(run_sweep(part).ok, 4);
  SweepOptions rest = options(cfg, out);
  rest.resume = true;
  const SweepSummary s = run_sweep(rest);
  EXPECT_EQ(s.already_done, 4);
  EXPECT_EQ(s.ok, 4);
  const CsvTable t = read_results(out);
  std::set<std::string> keys;
  for (const Row& r : t.rows) keys.insert(r.at("point_key"));
  EXPECT_EQ(t.rows.size(), 8u);
  EXPECT_EQ(keys.size(), 8u);
}

TEST(Sweep, AKilledSweepKeepsItsRowsAndResumes) {
  // Many slow-ish points so the kill lands mid-sweep; SIGKILL gives no chance to clean up.
  const std::string cfg = write_config("slow.yaml", R"(name: slow
run: {warmup_s: 0, repetitions: 3, min_time_s: 0.05}
modes: [train]
family: fc
axes: {nodes: [8, 16, 32, 64, 128, 256], batch: [4, 8]}
fixed: {layers: 1, input: 8, output: 4}
)");
  const std::string out = fresh("killed.csv");
  const pid_t pid = fork();
  if (pid == 0) {
    execl(PARADNN_BINARY, "paradnn", "run", cfg.c_str(), "-o", out.c_str(), "-q", "--no-ceilings",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait for the second data row, then kill.
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (fs::exists(out) && read_csv(out).rows.size() >= 2) break;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const size_t kept = read_results(out).rows.size();  // every kept row is whole
  ASSERT_GE(kept, 2u);
  ASSERT_LT(kept, 12u) << "the sweep finished before the kill; make the points slower";
  SweepOptions rest = options(cfg, out);
  rest.resume = true;
  const SweepSummary s = run_sweep(rest);
  EXPECT_EQ(static_cast<size_t>(s.already_done), kept);
  EXPECT_EQ(read_results(out).rows.size(), 12u);
}

TEST(Sweep, PointsOverTheMemoryBudgetAreSkippedWithAReason) {
  std::string text = kTiny;
  text.replace(text.find("min_time_s: 0.001}"), 18, "min_time_s: 0.001, memory_fraction: 1e-12}");
  const std::string out = fresh("mem.csv");
  const SweepSummary s = run_sweep(options(write_config("mem.yaml", text), out));
  EXPECT_EQ(s.skipped, 8);
  for (const Row& r : read_results(out).rows) {
    EXPECT_EQ(r.at("status"), "skipped");
    EXPECT_NE(r.at("reason").find("estimated memory"), std::string::npos);
  }
}

TEST(Sweep, ShardsPartitionTheGridAndBalanceCost) {
  const Config c = load_config(std::string(PARADNN_SOURCE_DIR) + "/configs/paradnn-fc.yaml", models::catalog());
  const auto all = select_points(c, "dtype==f32,mode==train,layers<=8", "");
  std::set<std::string> seen;
  std::vector<double> cost;
  for (int i = 1; i <= 4; ++i) {
    double sum = 0;
    for (const GridEntry& e : shard_points(all, i, 4)) {
      EXPECT_TRUE(seen.insert(e.point.key()).second) << "point in two shards";
      sum += estimated_point_seconds(e, c.run, 1e11);
    }
    cost.push_back(sum);
  }
  EXPECT_EQ(seen.size(), all.size());
  EXPECT_LT(*std::max_element(cost.begin(), cost.end()) / *std::min_element(cost.begin(), cost.end()), 1.05);
  EXPECT_THROW(select_points(c, "", "5/4"), InputError);
}

namespace {
int run_binary(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " " + PARADNN_BINARY + std::string(" ") + args + " > " + testing::TempDir() + "/out.txt 2>&1";
  return WEXITSTATUS(std::system(cmd.c_str()));
}
std::string last_output() {
  std::ifstream in(testing::TempDir() + "/out.txt");
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST(Sweep, BadConfigExitsWithCode2AndNamesTheLine) {
  const std::string cfg = write_config("bad.yaml", "family: fc\naxes:\n  nodes: {from: 64, to: 8}\nfixed: {batch: 1}\n");
  EXPECT_EQ(run_binary("run " + cfg + " -o " + fresh("bad.csv")), 2);
  EXPECT_NE(last_output().find("bad.yaml:3:"), std::string::npos) << last_output();
  EXPECT_FALSE(fs::exists(testing::TempDir() + "/bad.csv"));  // nothing ran
}

TEST(Sweep, Bf16IsSkippedWhereTheIsaLacksIt) {
  // Cap oneDNN at AVX2 (an AMD Zen 3 class machine): bf16 rows must be skipped, f32 rows ok.
  const std::string cfg = write_config("bf16.yaml", std::string(kTiny) + "dtypes: [f32, bf16]\n");
  const std::string out = fresh("bf16.csv");
  ASSERT_EQ(run_binary("run " + cfg + " -q --no-ceilings -o " + out, "ONEDNN_MAX_CPU_ISA=AVX2"), 0) << last_output();
  int skipped = 0, ok = 0;
  for (const Row& r : read_results(out).rows) {
    if (r.at("dtype") == "bf16") {
      EXPECT_EQ(r.at("status"), "skipped");
      EXPECT_NE(r.at("reason").find("bf16"), std::string::npos);
      ++skipped;
    } else {
      EXPECT_EQ(r.at("status"), "ok");
      ++ok;
    }
  }
  EXPECT_EQ(skipped, 8);
  EXPECT_EQ(ok, 8);
}
