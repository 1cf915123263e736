// Tuning: pools really overlap, settings files round-trip, rules come out of a table, env output.
#include <gtest/gtest.h>
#include <unistd.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "paradnn/grid.hpp"
#include "platforms/registry.hpp"
#include "platforms/cpu/threading/affinity.hpp"
#include "platforms/cpu/threading/pool_executor.hpp"
#include "runners/drivers/settings_file.hpp"
#include "runners/drivers/tuner.hpp"

using namespace paradnn;

TEST(Tune, PoolsStepTheirInstancesConcurrently) {
  auto backend = make_backend("cpu");
  Point p;
  p.family = "fc";
  p.hp = {{"layers", int64_t{2}}, {"nodes", int64_t{512}}, {"input", int64_t{512}}, {"output", int64_t{10}},
          {"branches", int64_t{1}}};
  p.batch = 64;
  const Graph g = build_graph(p, models::catalog());
  auto exe = backend->prepare(g, Mode::train, {1, 2, Affinity::none});  // the backend applies the pools
  auto* pool = dynamic_cast<cpu::PoolExecutable*>(exe.get());
  ASSERT_NE(pool, nullptr);
  int overlapping = 0;
  for (int i = 0; i < 20; ++i) {
    pool->step();
    const auto& iv = pool->last_intervals();
    ASSERT_EQ(iv.size(), 2u);
    overlapping += iv[0].begin < iv[1].end && iv[1].begin < iv[0].end;
  }
  // Both instances run inside the same step window; on 2 cores they overlap nearly always.
  EXPECT_GE(overlapping, 15);
  EXPECT_TRUE(std::isfinite(pool->loss()));
}

TEST(Tune, SpreadAndCloseAssignDistinctCores) {
  // 2 pools x 2 threads on 8 cores: close packs 0..3, spread spaces them 2 apart.
  std::set<int> close, spread;
  for (int pool = 0; pool < 2; ++pool)
    for (int t = 0; t < 2; ++t) {
      close.insert(cpu::core_for(Affinity::close, pool, 2, 2, t, 8));
      spread.insert(cpu::core_for(Affinity::spread, pool, 2, 2, t, 8));
    }
  EXPECT_EQ(close, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(spread, (std::set<int>{0, 2, 4, 6}));
}

TEST(Tune, SettingsFileRoundTripAndLookup) {
  SettingsFile f;
  f.platform = "test cpu";
  f.rules.push_back({"fc", 1, 64, {1, 2, Affinity::close}, "synthetic"});
  f.rules.push_back({"fc", 65, INT64_MAX, {2, 1, Affinity::none}, ""});
  f.rules.push_back({"*", 1, INT64_MAX, {2, 1, Affinity::spread}, ""});
  const std::string path = testing::TempDir() + "/settings.yaml";
  save_settings_file(f, path);
  const SettingsFile g = load_settings_file(path);
  ASSERT_EQ(g.rules.size(), 3u);
  EXPECT_TRUE(same_settings(*g.lookup("fc", 16), {1, 2, Affinity::close}));
  EXPECT_TRUE(same_settings(*g.lookup("fc", 1024), {2, 1, Affinity::none}));
  EXPECT_TRUE(same_settings(*g.lookup("rnn", 8), {2, 1, Affinity::spread}));
  EXPECT_EQ(g.rules[0].evidence, "synthetic");
}

// Rules per mode: training and inference want different settings; a rule without a mode
// serves both, and a lookup without one takes the first that matches.
TEST(Tune, RulesByModeRoundTripAndLookup) {
  SettingsFile f;
  f.rules.push_back({"fc", 1, INT64_MAX, {2, 1, Affinity::close}, "", "train"});
  f.rules.push_back({"fc", 1, INT64_MAX, {1, 2, Affinity::spread}, "", "infer"});
  const std::string path = testing::TempDir() + "/settings-modes-" + std::to_string(getpid()) + ".yaml";
  save_settings_file(f, path);
  const SettingsFile g = load_settings_file(path);
  ASSERT_EQ(g.rules.size(), 2u);
  EXPECT_TRUE(same_settings(*g.lookup("fc", 16, "train"), {2, 1, Affinity::close}));
  EXPECT_TRUE(same_settings(*g.lookup("fc", 16, "infer"), {1, 2, Affinity::spread}));
  EXPECT_TRUE(same_settings(*g.lookup("fc", 16), {2, 1, Affinity::close}));
  EXPECT_FALSE(g.lookup("cnn", 16, "infer").has_value());
  std::ofstream(path) << "rules:\n  - family: fc\n    mode: serve\n    intra_threads: 2\n    inter_pools: 1\n    affinity: close\n";
  try {
    load_settings_file(path);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("mode"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(":3"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

// A rule file from another machine says its counts are that machine's.
TEST(Tune, RulesSayWhenTheCoreCountDiffers) {
  SettingsFile f;
  f.tuned_cores = 2;
  f.rules.push_back({"*", 1, INT64_MAX, {2, 1, Affinity::close}, ""});
  const std::string path = testing::TempDir() + "/settings-cores-" + std::to_string(getpid()) + ".yaml";
  save_settings_file(f, path);
  EXPECT_EQ(load_settings_file(path).tuned_cores, 2);
  const Recommended r = recommended_settings(path, "fc", 16);
  EXPECT_FALSE(r.topology_note(2).has_value());
  const auto note = r.topology_note(64);
  ASSERT_TRUE(note.has_value());
  EXPECT_NE(note->find("tuned where 2 core(s)"), std::string::npos) << *note;
  EXPECT_NE(note->find("64 are here"), std::string::npos) << *note;
  std::remove(path.c_str());
}

TEST(Tune, BadSettingsFileNamesKeyAndLine) {
  const std::string path = testing::TempDir() + "/bad-settings.yaml";
  std::ofstream(path) << "rules:\n  - family: fc\n    intra_threads: 2\n    inter_pools: 1\n    affinity: tight\n";
  try {
    load_settings_file(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("affinity"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(":5"), std::string::npos) << e.what();
  }
}

TEST(Tune, EnvRefusesAnUnknownFamilyWithTheList) {
  // fcc is a typo: before, the wildcard rule answered it silently.
  const std::string path = testing::TempDir() + "/env-settings.yaml";
  std::ofstream(path) << "rules:\n  - family: '*'\n    intra_threads: 2\n    inter_pools: 1\n    affinity: none\n";
  const std::string cmd = std::string(PARADNN_BINARY) + " env " + path + " --family fcc > " + path + ".out 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  std::ifstream in(path + ".out");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("fc, cnn, rnn"), std::string::npos) << text;
}

TEST(Tune, AMisspeltSettingsKeyStopsTheLoad) {
  // min_batch for batch_min would silently widen the rule to every batch.
  const std::string path = testing::TempDir() + "/misspelt-settings.yaml";
  std::ofstream(path) << "rules:\n  - family: fc\n    min_batch: 64\n    intra_threads: 2\n    inter_pools: 1\n"
                         "    affinity: none\n";
  try {
    load_settings_file(path);
    FAIL() << "a misspelt key was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("min_batch"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(":3"), std::string::npos) << e.what();
  }
}

namespace {
WorkloadResult workload(const std::string& family, int64_t batch, std::vector<std::pair<Settings, double>> rates) {
  WorkloadResult w;
  w.point.family = family;
  w.point.batch = batch;
  for (auto& [s, r] : rates) {
    Trial t;
    t.settings = s;
    t.examples_per_s = r;
    w.trials.push_back(t);
  }
  w.best = 0;
  for (size_t k = 0; k < w.trials.size(); ++k)
    if (w.trials[k].examples_per_s > w.trials[static_cast<size_t>(w.best)].examples_per_s) w.best = static_cast<int>(k);
  return w;
}
}  // namespace

TEST(Tune, RulesPickTheBestGeometricMeanPerFamilyAndBatchRange) {
  const Settings one{1, 1, Affinity::none}, two{2, 1, Affinity::none}, pools{1, 2, Affinity::close};
  // Small batches: pools win; large batches: two threads win.
  std::vector<WorkloadResult> table{
      workload("fc", 16, {{one, 100}, {two, 90}, {pools, 150}}),
      workload("fc", 16, {{one, 200}, {two, 210}, {pools, 260}}),
      workload("fc", 256, {{one, 100}, {two, 190}, {pools, 180}}),
      workload("fc", 256, {{one, 50}, {two, 99}, {pools, 80}}),
  };
  WorkloadResult held = workload("fc", 256, {{one, 10}, {two, 5}, {pools, 1}});
  held.held_out = true;  // must not influence the rules
  table.push_back(held);
  const SettingsFile f = derive_rules(table, "synthetic");
  EXPECT_TRUE(same_settings(*f.lookup("fc", 16), pools));
  EXPECT_TRUE(same_settings(*f.lookup("fc", 8), pools));
  EXPECT_TRUE(same_settings(*f.lookup("fc", 256), two));
  EXPECT_TRUE(same_settings(*f.lookup("fc", 100000), two));
  ASSERT_TRUE(f.lookup("cnn", 16).has_value());  // the '*' fallback
}

// What env prints for `s` on a machine of `cores` cpus 0..n-1, one per core.
std::string shell_exports(const Settings& s, int cores, const std::string& format) {
  CpuCores machine;
  for (int c = 0; c < cores; ++c) machine.cores.push_back({c});
  return paradnn::shell_exports(plan_instances(s, machine), format, "paradnn launch --settings FILE --family F --batch N");
}

TEST(Tune, EnvPrintsExportsForEachFormat) {
  const Settings s{2, 1, Affinity::close};
  const std::string sh = shell_exports(s, 2, "sh");
  EXPECT_NE(sh.find("export OMP_NUM_THREADS=2"), std::string::npos);
  EXPECT_NE(sh.find("export OMP_PROC_BIND=close"), std::string::npos);
  EXPECT_NE(sh.find("OMP_PLACES=cores"), std::string::npos);
  EXPECT_NE(shell_exports(s, 2, "tf").find("set_intra_op_parallelism_threads(2)"), std::string::npos);
  EXPECT_NE(shell_exports({0, 2, Affinity::none}, 8, "torch").find("torch.set_num_threads(8)"), std::string::npos);
  EXPECT_THROW(shell_exports(s, 2, "java"), InputError);
}
