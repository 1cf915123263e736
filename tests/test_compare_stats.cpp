// compare's statistics: the Mann-Whitney test against hand-computed values, verdicts on
// synthetic repetitions, the join on settings, and the bootstrap interval on the geomean.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "analysis/compare.hpp"
#include "analysis/stats.hpp"
#include "paradnn/error.hpp"

using namespace paradnn;
using namespace paradnn::analysis;

namespace {

// Seeded repetitions around `mean` seconds with 3% spread.
std::vector<double> repetitions(double mean, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(mean, mean * 0.03);
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(d(rng));
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A results file with one fc point whose times are `reps` (p10/p90 from them too), and with
// `with_reps` its reps file beside it.
std::string results(const std::string& name, const std::vector<double>& reps, bool with_reps = true,
                    const std::string& threads = "1", const std::string& backend = "cpu") {
  const std::string dir = testing::TempDir() + "/compare-stats";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name + ".csv";
  std::filesystem::remove(reps_path(path));
  std::vector<double> sorted = reps;
  std::sort(sorted.begin(), sorted.end());
  Row r{{"schema_version", std::to_string(kSchemaVersion)}, {"run_id", name + "-run"}, {"backend", backend},
        {"model_family", "fc"}, {"mode", "train"}, {"dtype", "f32"}, {"batch", "64"}, {"layers", "2"},
        {"nodes", "256"}, {"intra_threads", threads}, {"inter_pools", "1"}, {"affinity", "compact"},
        {"status", "ok"}, {"repetitions", std::to_string(reps.size())},
        {"time_per_step_s_median", fmt::format("{}", median(reps))},
        {"time_per_step_s_p10", fmt::format("{}", sorted.front())},
        {"time_per_step_s_p90", fmt::format("{}", sorted.back())},
        {"examples_per_s", fmt::format("{}", 64 / median(reps))}};
  r["point_key"] = workload_key(r);
  {
    CsvWriter w(path, result_columns(), false);
    w.write(r);
  }
  if (with_reps) {
    std::ofstream out(reps_path(path));
    out << "run_id,point_key,repetition,time_per_step_s\n";
    for (size_t i = 0; i < reps.size(); ++i)
      out << fmt::format("{},{},{},{}\n", r["run_id"], csv_escape(r["point_key"]), i, reps[i]);
  }
  return path;
}

const PointVerdict& verdict(const Comparison& c) { return c.joined.at(0).verdicts.at(1); }

}  // namespace

TEST(MannWhitney, MatchesScipysDocumentedExample) {
  // scipy.stats.mannwhitneyu docs: males {19,22,16,29,24} vs females {20,11,17,12}, U1 = 17.
  // Exact: U >= 17 means the other U <= 3, i.e. 1+1+2+3 = 7 of C(9,4) = 126 orders; two-sided
  // p = 2 * 7/126 = 0.1111. Normal approximation: mu = 10, sigma = sqrt(5*4*10/12) = 4.0825,
  // z = (17 - 10 - 0.5)/4.0825 = 1.5922, p = erfc(z/sqrt 2) = 0.111347 (scipy: 0.11134688653314041).
  const MannWhitney r = mann_whitney_u({19, 22, 16, 29, 24}, {20, 11, 17, 12});
  EXPECT_DOUBLE_EQ(r.u, 17);
  EXPECT_TRUE(r.exact);
  EXPECT_NEAR(r.p_value, 14.0 / 126, 1e-12);
}

TEST(MannWhitney, FiveAgainstFiveApartGivesTheSmallestP) {
  // All five below all five: one order of C(10,5) = 252 each way, p = 2/252 = 0.0079.
  EXPECT_NEAR(mann_whitney_u({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}).p_value, 2.0 / 252, 1e-12);
  EXPECT_NEAR(mann_whitney_u({6, 7, 8, 9, 10}, {1, 2, 3, 4, 5}).p_value, 2.0 / 252, 1e-12);
}

TEST(MannWhitney, TiesUseTheCorrectedNormalApproximation) {
  // {1,2,3,3} vs {3,4,5}: ranks 1,2,4,4 | 4,6,7, U1 = 11 - 10 = 1, the larger U = 11, mu = 6.
  // Tie term 3^3 - 3 = 24: var = 4*3/12 * (8 - 24/(7*6)) = 7.428571, z = (11 - 6 - 0.5)/2.725541
  // = 1.651049, p = erfc(z/sqrt 2) = 0.0987286.
  const MannWhitney r = mann_whitney_u({1, 2, 3, 3}, {3, 4, 5});
  EXPECT_DOUBLE_EQ(r.u, 1);
  EXPECT_FALSE(r.exact);
  EXPECT_NEAR(r.p_value, 0.0987286479, 1e-8);
  EXPECT_DOUBLE_EQ(mann_whitney_u({2, 2, 2}, {2, 2}).p_value, 1.0);  // all equal: nothing to tell
}

TEST(CompareStats, SameDistributionIsNoise) {
  const std::string a = results("same-a", repetitions(0.01, 10, 1)), b = results("same-b", repetitions(0.01, 10, 2));
  const Comparison c = compare_result_files({a, b}, "");
  EXPECT_EQ(verdict(c).verdict, "noise");
  EXPECT_EQ(verdict(c).test, "mann-whitney");
  ASSERT_TRUE(verdict(c).p_value);
  EXPECT_GE(*verdict(c).p_value, 0.05);
  EXPECT_EQ(c.summary.back().noise, 1);
}

TEST(CompareStats, TwiceAsFastIsFasterAndTheOtherWaySlower) {
  const std::string slow = results("shift-slow", repetitions(0.02, 5, 3));
  const std::string fast = results("shift-fast", repetitions(0.01, 5, 4));
  const Comparison c = compare_result_files({slow, fast}, "");
  EXPECT_EQ(verdict(c).verdict, "faster");
  EXPECT_NEAR(*verdict(c).p_value, 2.0 / 252, 1e-12);
  EXPECT_EQ(c.summary.back().faster, 1);
  EXPECT_EQ(verdict(compare_result_files({fast, slow}, "")).verdict, "slower");
  EXPECT_EQ(verdict(compare_result_files({slow, fast}, "", {1e-3, false})).verdict, "noise");  // --alpha 0.001
}

TEST(CompareStats, WithoutRepsFilesTheP10P90RangesDecide) {
  const std::string slow = results("range-slow", repetitions(0.02, 5, 5), false);
  const std::string fast = results("range-fast", repetitions(0.01, 5, 6), false);
  const Comparison apart = compare_result_files({slow, fast}, "");
  EXPECT_EQ(verdict(apart).verdict, "faster");
  EXPECT_EQ(verdict(apart).test, "p10-p90");
  EXPECT_FALSE(verdict(apart).p_value);
  const std::string same = results("range-same", repetitions(0.02, 5, 7));  // reps on one side only
  EXPECT_EQ(verdict(compare_result_files({slow, same}, "")).verdict, "noise");
  EXPECT_EQ(verdict(compare_result_files({slow, same}, "")).test, "p10-p90");
}

TEST(CompareStats, OtherThreadsAreRefusedUnlessSettingsAreIgnored) {
  const std::string one = results("threads-1", repetitions(0.02, 5, 8), true, "1");
  const std::string two = results("threads-2", repetitions(0.01, 5, 9), true, "2");
  try {
    compare_result_files({one, two}, "");
    FAIL() << "joined rows with other thread counts";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("intra_threads '2' vs '1'"), std::string::npos) << m;
    EXPECT_NE(m.find("--ignore-settings"), std::string::npos) << m;
  }
  const Comparison c = compare_result_files({one, two}, "", {0.05, true});
  ASSERT_EQ(c.joined.size(), 1u);
  EXPECT_EQ(c.joined[0].settings_differ[1], "intra_threads");
  const std::string out = testing::TempDir() + "/compare-stats/threads.csv";
  write_comparison_csv(c, out);
  const CsvTable t = read_comparison(out);
  ASSERT_EQ(t.rows.size(), 2u);
  const Row expected{
      {"settings_differ", "intra_threads"}, {"intra_threads", "2"}, {"verdict", "faster"}, {"test", "mann-whitney"}};
  for (const auto& [column, value] : expected) EXPECT_EQ(t.rows[1].at(column), value) << column;
  EXPECT_FALSE(t.rows[1].at("p_value").empty());
  EXPECT_EQ(summarize_comparison_table(t).back().faster, 1);
}

TEST(CompareStats, OtherBackendsAreComparedWithTheirSettingsFlagged) {
  // Comparing platforms is compare's purpose: a GPU row has no CPU thread count to match.
  const std::string cpu = results("backend-cpu", repetitions(0.02, 5, 10), true, "2", "cpu");
  const std::string gpu = results("backend-cuda", repetitions(0.002, 5, 11), true, "", "cuda");
  const Comparison c = compare_result_files({cpu, gpu}, "");
  ASSERT_EQ(c.joined.size(), 1u);
  EXPECT_EQ(c.joined[0].settings_differ[1], "backend,intra_threads");
  EXPECT_EQ(verdict(c).verdict, "faster");
}

TEST(Bootstrap, IntervalContainsTheGeomeanAndNarrowsWithMorePoints) {
  std::mt19937 rng(11);
  std::lognormal_distribution<double> d(std::log(1.2), 0.2);
  std::vector<double> few, many;
  for (int i = 0; i < 8; ++i) few.push_back(d(rng));
  for (int i = 0; i < 200; ++i) many.push_back(d(rng));
  const Interval a = bootstrap_geomean_interval(few), b = bootstrap_geomean_interval(many);
  EXPECT_LE(a.lo, geometric_mean(few));
  EXPECT_GE(a.hi, geometric_mean(few));
  EXPECT_LE(b.lo, geometric_mean(many));
  EXPECT_GE(b.hi, geometric_mean(many));
  EXPECT_LT(b.hi - b.lo, (a.hi - a.lo) / 2);
  const Interval again = bootstrap_geomean_interval(few);  // seeded: the same every time
  EXPECT_DOUBLE_EQ(again.lo, a.lo);
  EXPECT_DOUBLE_EQ(again.hi, a.hi);
  const Interval one = bootstrap_geomean_interval({1.5});
  EXPECT_DOUBLE_EQ(one.lo, 1.5);
  EXPECT_DOUBLE_EQ(one.hi, 1.5);
}
