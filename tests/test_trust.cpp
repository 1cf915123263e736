// Results people can trust: Google Benchmark's environment cannot change a row, no `ok` row
// without a time, filters fail loudly, the manifest keeps every run, progress reaches logs,
// repetitions are kept and adaptive stopping says why it stopped.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "models/catalog.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"
#include "paradnn/grid.hpp"
#include "runners/drivers/sweep.hpp"
#include "runners/harness/result_row.hpp"

using namespace paradnn;
namespace fs = std::filesystem;

namespace {

std::string tiny(const std::string& run) {
  return "name: trust\nrun: {" + run + "}\nmodes: [infer]\nsweeps:\n  - family: fc\n    axes: {nodes: [8, 16]}\n"
         "    fixed: {layers: 1, input: 8, output: 4, batch: 4}\n";
}
const std::string kRun = "warmup_s: 0, repetitions: 3, min_time_s: 0.001";

std::string path(const std::string& name) {  // one set per test process
  return testing::TempDir() + "/trust-" + std::to_string(getpid()) + "-" + name;
}

std::string write(const std::string& name, const std::string& text) {
  const std::string p = path(name);
  std::ofstream(p) << text;
  return p;
}

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

// Runs the paradnn binary with `env` added, stdout and stderr to files (not a terminal).
Outcome run_paradnn(std::vector<std::string> args, const std::vector<std::pair<std::string, std::string>>& env = {}) {
  const std::string out = path("stdout"), err = path("stderr");
  args.insert(args.begin(), PARADNN_BINARY);
  const pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (!freopen(out.c_str(), "w", stdout) || !freopen(err.c_str(), "w", stderr)) _exit(126);
    execv(PARADNN_BINARY, argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), slurp(out), slurp(err)};
}

SweepOptions sweep(const std::string& config, const std::string& out) {
  SweepOptions o;
  o.config_path = config;
  o.output = out;
  o.progress = false;
  o.ceilings = false;
  o.force = true;
  return o;
}

}  // namespace

TEST(Trust, BenchmarkEnvironmentCannotChangeARow) {
  const std::string config = write("env.yaml", tiny(kRun)), out = path("env.csv"), gb_out = path("gb.json");
  fs::remove(gb_out);
  const Outcome o = run_paradnn({"run", config, "-o", out, "--force", "--no-ceilings", "-q"},
                            {{"BENCHMARK_FILTER", "nomatch"},
                             {"BENCHMARK_OUT", gb_out},
                             {"BENCHMARK_OUT_FORMAT", "csv"},
                             {"BENCHMARK_REPETITIONS", "1"},
                             {"BENCHMARK_MIN_TIME", "5"},
                             {"BENCHMARK_REPORT_AGGREGATES_ONLY", "true"},
                             {"BENCHMARK_ENABLE_RANDOM_INTERLEAVING", "true"}});
  ASSERT_EQ(o.code, 0) << o.err;
  const CsvTable t = read_results(out);
  ASSERT_EQ(t.rows.size(), 2u);
  for (const Row& r : t.rows) {
    EXPECT_EQ(r.at("status"), "ok");
    EXPECT_EQ(r.at("repetitions"), "3");
    EXPECT_GT(std::stod(r.at("time_per_step_s_median")), 0);
    EXPECT_GT(std::stod(r.at("examples_per_s")), 0);
  }
  EXPECT_FALSE(fs::exists(gb_out));
}

TEST(Trust, NoOkRowWithoutAPositiveTime) {
  const Config c = parse_config(tiny(kRun), "t.yaml", models::catalog());
  const GridEntry e = expand(c, models::catalog()).front();
  const Graph g = build_graph(e.point, models::catalog());
  RunContext ctx;
  Row row;
  Measurement zero;  // what a filtered-away benchmark used to leave
  zero.repetitions = 3;
  EXPECT_TRUE(measurement_problem(zero).has_value());
  EXPECT_THROW(fill_measurement(row, ctx, e.point, g, zero), std::runtime_error);
  Measurement m;
  m.rep_times = {2e-3, 1e-3, 3e-3};
  summarize(m);
  EXPECT_FALSE(measurement_problem(m).has_value());
  fill_measurement(row, ctx, e.point, g, m);
  EXPECT_GT(std::stod(row.at("examples_per_s")), 0);
  m.p10_s = std::nan("");
  EXPECT_TRUE(measurement_problem(m).has_value());
}

TEST(Trust, PercentilesInterpolateBetweenOrderStatistics) {
  const std::vector<double> v{5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(percentile(v, 0.1), 1.4);  // not the minimum
  EXPECT_DOUBLE_EQ(percentile(v, 0.9), 4.6);  // not the maximum
  EXPECT_DOUBLE_EQ(percentile(v, 0.5), 3);
  EXPECT_DOUBLE_EQ(percentile({7}, 0.9), 7);
}

TEST(Trust, UnknownFilterNamesAndEmptySelectionsExit2) {
  const std::string config = write("filter.yaml", tiny(kRun)), out = path("filter.csv");
  Outcome o = run_paradnn({"run", config, "-o", out, "--force", "--no-ceilings", "--filter", "nodez==8"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("unknown filter name 'nodez'"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("model_name"), std::string::npos) << "the valid names are listed: " << o.err;
  o = run_paradnn({"run", config, "-o", out, "--force", "--no-ceilings", "--filter", "nodes==12345"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("no points match"), std::string::npos) << o.err;
  const std::string where = write("where.yaml", tiny(kRun) + "    where: [\"nodez <= 8\"]\n");
  o = run_paradnn({"list", where});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("unknown filter name 'nodez'"), std::string::npos) << o.err;
  // Every column known before running can be filtered on.
  const std::vector<GridEntry> all = expand(parse_config(tiny(kRun), "t.yaml", models::catalog()), models::catalog());
  const Filter f = Filter::parse("model_family==fc,model_name==" + all.front().model_name +
                                 ",flops_per_step>0,params>0,mode==infer,dtype==f32,batch==4,nodes==8");
  check_filter_names(f, models::catalog(), "test");
  EXPECT_TRUE(f.matches([&](const std::string& n) { return point_field(all.front().point, &all.front(), n); }));
}

TEST(Trust, ResumeKeepsEveryRunInTheManifest) {
  const std::string config = write("resume.yaml", tiny(kRun)), out = path("resume.csv");
  SweepOptions o = sweep(config, out);
  o.filter = "nodes==8";
  const SweepSummary first = run_sweep(o);
  o.filter.clear();
  o.force = false;
  o.resume = true;
  const SweepSummary second = run_sweep(o);
  EXPECT_EQ(second.already_done, 1);
  const YAML::Node runs = YAML::LoadFile(second.manifest)["runs"];
  ASSERT_TRUE(runs && runs.IsSequence());
  ASSERT_EQ(runs.size(), 2u);
  std::set<std::string> ids;
  for (const YAML::Node& r : runs) {
    ids.insert(r["run_id"].as<std::string>());
    EXPECT_FALSE(r["ended_utc"].as<std::string>().empty());
    EXPECT_TRUE(r["versions"]["paradnn_commit"]);
    EXPECT_TRUE(r["machine"]["hostname"]);
  }
  EXPECT_EQ(ids.size(), 2u);
  const CsvTable t = read_results(out);
  ASSERT_EQ(t.rows.size(), 2u);
  for (const Row& r : t.rows) EXPECT_TRUE(ids.count(r.at("run_id"))) << r.at("run_id");
  EXPECT_NE(t.rows[0].at("run_id"), t.rows[1].at("run_id"));
}

TEST(Trust, VersionAndProgressLinesOffATerminal) {
  Outcome o = run_paradnn({"--version"});
  EXPECT_EQ(o.code, 0);
  EXPECT_NE(o.out.find("commit "), std::string::npos) << o.out;
  const std::string config = write("progress.yaml", tiny(kRun)), out = path("progress.csv");
  o = run_paradnn({"run", config, "-o", out, "--force", "--no-ceilings"});
  ASSERT_EQ(o.code, 0) << o.err;
  std::istringstream lines(o.err);
  std::vector<std::string> progress;
  for (std::string l; std::getline(lines, l);)
    if (l.rfind("[", 0) == 0) progress.push_back(l);
  ASSERT_EQ(progress.size(), 2u) << o.err;
  EXPECT_NE(progress[0].find("[1/2] "), std::string::npos) << progress[0];
  EXPECT_NE(progress[1].find("[2/2] "), std::string::npos) << progress[1];
  for (const std::string& l : progress) {
    EXPECT_NE(l.find(" infer f32 batch=4: ok "), std::string::npos) << l;
    EXPECT_NE(l.find(" ex/s, elapsed "), std::string::npos) << l;
    EXPECT_NE(l.find(", ETA "), std::string::npos) << l;
  }
}

TEST(Trust, RepetitionsKeptAndAdaptiveStoppingSaysWhy) {
  const std::string out = path("reps.csv");
  SweepSummary s = run_sweep(sweep(write("reps.yaml", tiny(kRun)), out));
  const CsvTable reps = read_csv(s.reps_output);
  ASSERT_EQ(reps.rows.size(), 6u);  // 3 repetitions x 2 points
  EXPECT_EQ(reps.rows[0].at("repetition"), "1");
  EXPECT_GT(std::stod(reps.rows[0].at("time_per_step_s")), 0);
  for (const Row& r : read_results(out).rows) EXPECT_EQ(r.at("stop_reason"), "repetitions");

  // A loose target stops on noise (or at the repetitions); only a machine so loaded that the
  // spread stays above the target may reach the cap, and then the row's cv says so.
  s = run_sweep(sweep(write("loose.yaml", tiny(kRun + ", max_noise: 0.99, max_time_s: 5")), out));
  for (const Row& r : read_results(out).rows) {
    const std::string why = r.at("stop_reason");
    if (why == "time_cap") EXPECT_GT(std::stod(r.at("time_per_step_cv")), 0.99);
    else EXPECT_TRUE(why == "noise" || why == "repetitions") << why;
    EXPECT_EQ(r.at("status"), "ok");
  }
  s = run_sweep(sweep(write("cap.yaml", tiny(kRun + ", max_noise: 1e-12, max_time_s: 0.05")), out));
  for (const Row& r : read_results(out).rows) {
    EXPECT_EQ(r.at("stop_reason"), "time_cap");
    EXPECT_GE(std::stoi(r.at("repetitions")), 3);
  }
}

TEST(Trust, AdaptiveStoppingKeysAreValidated) {
  for (const char* bad : {"max_noise: 0", "max_noise: 1", "max_noise: .nan", "max_time_s: 0", "max_time_s: 90000"})
    EXPECT_THROW(parse_config(tiny(kRun + ", " + bad), "t.yaml", models::catalog()), InputError) << bad;
  const Config c = parse_config(tiny(kRun + ", max_noise: 0.02, max_time_s: 10"), "t.yaml", models::catalog());
  EXPECT_DOUBLE_EQ(c.run.max_noise, 0.02);
  EXPECT_DOUBLE_EQ(c.run.max_time_s, 10);
}

TEST(Trust, JsonOutputParsesAndMatchesTheCsv) {
  const std::string cfg = write("json.yaml", tiny(kRun));
  const std::string json = path("json-run.json"), csv = path("json-run.csv");
  fs::remove(csv);
  fs::remove(json);
  SweepOptions o = sweep(cfg, json);  // -o X.json: rows in X.csv, the document in X.json
  const SweepSummary s = run_sweep(o);
  EXPECT_EQ(s.output, csv);
  EXPECT_EQ(s.json_output, json);
  const CsvTable t = read_results(csv);
  const nlohmann::json doc = nlohmann::json::parse(slurp(json));
  ASSERT_EQ(doc.at("benchmarks").size(), t.rows.size());
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const nlohmann::json& b = doc["benchmarks"][i];
    EXPECT_EQ(b.at("name"), t.rows[i].at("point_key"));
    EXPECT_DOUBLE_EQ(b.at("real_time").get<double>(), std::stod(t.rows[i].at("time_per_step_s_median")));
    EXPECT_EQ(b.at("run_id"), t.rows[i].at("run_id"));
  }
  EXPECT_TRUE(doc.at("context").contains("paradnn_schema_version"));
}
