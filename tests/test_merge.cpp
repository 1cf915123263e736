// Merging shard files: union, identical duplicates, conflicts, missing points; Slurm scripts.
#include <gtest/gtest.h>

#include <fstream>

#include "paradnn/error.hpp"
#include "runners/drivers/merge.hpp"
#include "runners/drivers/slurm_script.hpp"

using namespace paradnn;

namespace {
std::string shard(const std::string& name, const std::vector<std::pair<std::string, std::string>>& rows) {
  const std::string path = testing::TempDir() + "/" + name;
  std::remove(path.c_str());
  CsvWriter w(path, result_columns(), false);
  for (const auto& [key, eps] : rows)
    w.write({{"schema_version", "1"}, {"run_id", name}, {"model_family", "fc"}, {"mode", "train"}, {"dtype", "f32"},
             {"batch", "4"}, {"status", "ok"}, {"point_key", key}, {"examples_per_s", eps}});
  return path;
}

const char* kConfig = "name: m\nfamily: fc\naxes: {nodes: [8, 16, 32], batch: [4]}\nmodes: [train]\nfixed: {layers: 1}\n";
std::string key(int nodes) {
  return "fc:branches=1,input=2000,layers=1,nodes=" + std::to_string(nodes) + ",output=1000:train:f32:batch=4";
}
}  // namespace

TEST(Merge, UnionInConfigOrderWithMissingPointsListed) {
  const std::string cfg = testing::TempDir() + "/m.yaml";
  std::ofstream(cfg) << kConfig;
  const auto a = shard("a.csv", {{key(32), "3"}});
  const auto b = shard("b.csv", {{key(8), "1"}});
  const MergeResult m = merge_results({a, b}, cfg);
  ASSERT_EQ(m.rows.size(), 2u);
  EXPECT_EQ(m.rows[0].at("point_key"), key(8));  // config order, not file order
  EXPECT_EQ(m.rows[1].at("point_key"), key(32));
  EXPECT_EQ(m.missing, std::vector<std::string>{key(16)});
}

TEST(Merge, IdenticalDuplicatesDropConflictsFail) {
  const auto a = shard("c.csv", {{key(8), "1"}});
  const MergeResult m = merge_results({a, a}, "");
  EXPECT_EQ(m.rows.size(), 1u);
  EXPECT_EQ(m.duplicates_dropped, 1);
  const auto b = shard("d.csv", {{key(8), "2"}});
  try {
    merge_results({a, b}, "");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("d.csv:2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("conflicts"), std::string::npos);
  }
}

TEST(Slurm, ArrayScriptMapsTaskIdToShardAndMergeDependsOnIt) {
  SlurmOptions o;
  o.config_path = "configs/quick.yaml";
  o.shards = 3;
  o.partition = "debug";
  o.cpus = 2;
  const SlurmScripts s = slurm_scripts(o);
  EXPECT_NE(s.array.find("#SBATCH --array=1-3"), std::string::npos);
  EXPECT_NE(s.array.find("--shard ${SLURM_ARRAY_TASK_ID}/3"), std::string::npos);
  EXPECT_NE(s.array.find("#SBATCH --partition=debug"), std::string::npos);
  EXPECT_NE(s.array.find("#SBATCH --cpus-per-task=2"), std::string::npos);
  EXPECT_NE(s.merge.find("merge results/quick-shard-1.csv results/quick-shard-2.csv results/quick-shard-3.csv"),
            std::string::npos);
  EXPECT_NE(s.submit.find("--dependency=afterok:"), std::string::npos);
}
