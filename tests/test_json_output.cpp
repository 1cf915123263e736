// The Google-Benchmark-shaped JSON: parses, matches the results CSV row for row and field
// for field, and carries the manifest in its context.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "paradnn/csv.hpp"
#include "runners/harness/json_output.hpp"

using namespace paradnn;

namespace {

std::string dir() {
  const std::string d = testing::TempDir() + "/json-output";
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(JsonOutput, MatchesTheCsvRowForRowAndCarriesTheManifest) {
  const std::string d = dir();
  write(d + "/r.csv",
        "point_key,model_family,batch,repetitions,time_per_step_s_median,examples_per_s,status,reason,loss\n"
        "fc:nodes=8:train:f32:batch=4,fc,4,5,0.002,2000,ok,,0.5\n"
        "cnn:train:f32:batch=2,cnn,2,,,,failed,out of memory,\n");
  write(d + "/r.manifest.yaml", "run_id: abc\nbackend: cpu\npoints: 2\nmachine:\n  cores: 16\n");
  write_results_json(d + "/r.csv", d + "/r.manifest.yaml", d + "/r.json");
  const nlohmann::json j = read_json(d + "/r.json");

  EXPECT_EQ(j["context"]["run_id"], "abc");
  EXPECT_EQ(j["context"]["backend"], "cpu");
  EXPECT_EQ(j["context"]["points"], 2);
  EXPECT_EQ(j["context"]["machine"]["cores"], 16);
  EXPECT_EQ(j["context"]["paradnn_schema_version"], 1);

  const CsvTable t = read_csv(d + "/r.csv");
  ASSERT_EQ(j["benchmarks"].size(), t.rows.size());
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const nlohmann::json& b = j["benchmarks"][i];
    for (const auto& [column, value] : t.rows[i]) {
      if (value.empty()) {
        EXPECT_FALSE(b.contains(column)) << column;  // empty cells are left out
      } else if (b[column].is_number()) {
        EXPECT_DOUBLE_EQ(b[column].get<double>(), std::stod(value)) << column;
      } else {
        EXPECT_EQ(b[column], value) << column;
      }
    }
    EXPECT_EQ(b["name"], t.rows[i].at("point_key"));
    EXPECT_EQ(b["run_name"], t.rows[i].at("point_key"));
    EXPECT_EQ(b["run_type"], "iteration");
    EXPECT_EQ(b["time_unit"], "s");
  }
  const nlohmann::json& ok = j["benchmarks"][0];
  EXPECT_TRUE(ok["batch"].is_number_integer());
  EXPECT_EQ(ok["repetitions"], 5);
  EXPECT_DOUBLE_EQ(ok["real_time"].get<double>(), 0.002);
  EXPECT_DOUBLE_EQ(ok["cpu_time"].get<double>(), 0.002);
  EXPECT_DOUBLE_EQ(ok["items_per_second"].get<double>(), 2000);
  EXPECT_FALSE(j["benchmarks"][1].contains("real_time"));  // a failed row has no time
  EXPECT_EQ(j["benchmarks"][1]["reason"], "out of memory");
}

TEST(JsonOutput, AManifestWithARunsListGivesTheLatestRunsFields) {
  const std::string d = dir();
  write(d + "/r.csv", "point_key,examples_per_s\nk,1.5\n");
  write(d + "/m.yaml", "runs:\n  - run_id: first\n    backend: cpu\n  - run_id: second\n    backend: cpu\n");
  write_results_json(d + "/r.csv", d + "/m.yaml", d + "/r.json");
  const nlohmann::json j = read_json(d + "/r.json");
  EXPECT_EQ(j["context"]["run_id"], "second");
  EXPECT_EQ(j["context"]["runs"].size(), 2u);
  EXPECT_EQ(j["benchmarks"][0]["name"], "k");
}
