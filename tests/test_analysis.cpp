// Analysis: geometric means, joins across platforms, schema and duplicate errors, sensitivity
// fits on synthetic data, heat-map pivots, and the report's plot files.
#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "analysis/compare.hpp"
#include "analysis/heatmap.hpp"
#include "analysis/plot_runner.hpp"
#include "analysis/ratio_summary.hpp"
#include "analysis/report.hpp"
#include "analysis/sensitivity.hpp"
#include "paradnn/error.hpp"

using namespace paradnn;
using namespace paradnn::analysis;

namespace {

std::string temp(const std::string& name) {
  const std::string path = testing::TempDir() + "/analysis-" + name;
  std::filesystem::remove_all(path);
  return path;
}

// A fc training row at f32 with the given nodes, batch and examples/s (status ok).
Row fc(int nodes, int batch, double examples_per_s, int layers = 4) {
  return {{"model_family", "fc"}, {"mode", "train"}, {"dtype", "f32"},
          {"batch", std::to_string(batch)}, {"layers", std::to_string(layers)}, {"nodes", std::to_string(nodes)},
          {"examples_per_s", fmt::format("{}", examples_per_s)}, {"status", "ok"}};
}

// Writes a results file (schema_version and point_key filled in where the row lacks them).
std::string results(const std::string& name, std::vector<Row> rows) {
  const std::string path = temp(name);
  CsvWriter w(path, result_columns(), false);
  for (Row& r : rows) {
    r.emplace("schema_version", std::to_string(kSchemaVersion));
    r.emplace("point_key", workload_key(r));
    w.write(r);
  }
  return path;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

const SpeedupGroup& group(const Comparison& c, const std::string& family) {
  for (const SpeedupGroup& s : c.summary)
    if (s.group.family == family) return s;
  throw std::logic_error("no group " + family);
}

}  // namespace

TEST(RatioSummary, GeometricMeanOfAKnownTable) {
  EXPECT_DOUBLE_EQ(geometric_mean({2.0, 0.5}), 1.0);  // twice as fast and half as fast cancel
  EXPECT_NEAR(geometric_mean({1, 2, 4, 8}), std::sqrt(8.0), 1e-12);
  EXPECT_NEAR(geometric_mean({1e300, 1e300, 1e300}), 1e300, 1e288);  // in logs: no overflow
  const RatioSummary s = summarize_ratios({3.0, 1.0 / 3, 9.0});
  EXPECT_EQ(s.count, 3);
  EXPECT_NEAR(s.geomean, std::cbrt(9.0), 1e-12);
  EXPECT_DOUBLE_EQ(s.min, 1.0 / 3);
  EXPECT_DOUBLE_EQ(s.max, 9.0);
  EXPECT_EQ(summarize_ratios({}).count, 0);
  EXPECT_THROW(geometric_mean({1.0, 0.0}), std::invalid_argument);
  EXPECT_THROW(geometric_mean({}), std::invalid_argument);
}

TEST(Compare, JoinsWorkloadsAndCountsOneSideOnlyAndNotOk) {
  Row failed = fc(128, 64, 0);
  failed["status"] = "failed";
  failed["reason"] = "out of memory";
  failed["examples_per_s"] = "";
  const std::string a = results("a.csv", {fc(8, 64, 100), fc(16, 64, 100), fc(32, 64, 100), fc(128, 64, 50)});
  const std::string b = results("b.csv", {fc(16, 64, 200), fc(32, 64, 800), fc(64, 64, 1), failed});
  const Comparison c = compare_result_files({a, b}, "");
  EXPECT_EQ(c.inputs[0].name, "analysis-a");
  EXPECT_EQ(input_names({"x/a.csv", "y/a.csv"}), (std::vector<std::string>{"x/a.csv", "y/a.csv"}));
  EXPECT_EQ(input_names({"a.csv", "a.csv", "b.csv"}), (std::vector<std::string>{"a.csv", "a.csv#2", "b.csv"}));
  EXPECT_EQ(c.baseline, 0u);
  ASSERT_EQ(c.joined.size(), 2u);  // nodes 16 and 32
  ASSERT_EQ(c.one_side_only.size(), 2u);  // nodes 8 (only in a), nodes 64 (only in b)
  EXPECT_EQ(c.one_side_only[0].states, (std::vector<std::string>{"ok", "absent"}));
  EXPECT_EQ(c.one_side_only[1].states, (std::vector<std::string>{"absent", "ok"}));
  ASSERT_EQ(c.not_ok.size(), 1u);  // nodes 128: ok in a, failed in b
  EXPECT_EQ(c.not_ok[0].states[1], "failed: out of memory");
  EXPECT_EQ(c.not_ok_rows, (std::vector<int>{0, 1}));
  const SpeedupGroup& fc_group = group(c, "fc");
  EXPECT_EQ(fc_group.platform, "analysis-b");
  EXPECT_EQ(fc_group.speedup.count, 2);
  EXPECT_NEAR(fc_group.speedup.geomean, 4.0, 1e-12);  // sqrt(2 * 8)
  EXPECT_DOUBLE_EQ(fc_group.speedup.min, 2.0);
  EXPECT_DOUBLE_EQ(fc_group.speedup.max, 8.0);
  EXPECT_NEAR(group(c, "all").speedup.geomean, 4.0, 1e-12);

  // The tidy table: one row per workload and platform; the baseline's speedup is 1.
  const std::string out = temp("compare.csv");
  write_comparison_csv(c, out);
  const CsvTable t = read_comparison(out);
  ASSERT_TRUE(is_comparison(t));
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(t.rows[0].at("platform"), "analysis-a");
  EXPECT_EQ(t.rows[0].at("speedup"), "1");
  EXPECT_EQ(t.rows[3].at("platform"), "analysis-b");
  EXPECT_EQ(t.rows[3].at("nodes"), "32");
  EXPECT_EQ(t.rows[3].at("speedup"), "8");
  const auto from_table = summarize_comparison_table(t);
  EXPECT_NEAR(from_table.front().speedup.geomean, 4.0, 1e-12);

  // --baseline by name inverts the speedups.
  const Comparison inverse = compare_result_files({a, b}, "analysis-b");
  EXPECT_NEAR(group(inverse, "fc").speedup.geomean, 0.25, 1e-12);
  EXPECT_NE(error_of([&] { compare_result_files({a, b}, "c"); }).find("not one of the inputs"), std::string::npos);
}

TEST(Compare, DuplicateWorkloadInOneFileNamesFileLinesAndKey) {
  const std::string a = results("dup.csv", {fc(8, 64, 100), fc(16, 64, 1), fc(8, 64, 120)});
  const std::string b = results("other.csv", {fc(8, 64, 100)});
  const std::string e = error_of([&] { compare_result_files({b, a}, ""); });
  EXPECT_NE(e.find(a + ":4"), std::string::npos) << e;
  EXPECT_NE(e.find("first at line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("fc:layers=4,nodes=8:train:f32:batch=64"), std::string::npos) << e;
}

TEST(Compare, MismatchedSchemaVersionIsAnError) {
  Row newer = fc(8, 64, 100);
  newer["schema_version"] = "2";
  const std::string a = results("v1.csv", {fc(8, 64, 100)});
  const std::string b = results("v2.csv", {newer});
  const std::string e = error_of([&] { compare_result_files({a, b}, ""); });
  EXPECT_NE(e.find(b + ":2"), std::string::npos) << e;
  EXPECT_NE(e.find("schema_version 2"), std::string::npos) << e;
}

TEST(Compare, OkRowWithoutThroughputIsAnError) {
  const std::string a = results("t1.csv", {fc(8, 64, 100)});
  Row broken = fc(8, 64, 0);
  broken["examples_per_s"] = "";
  const std::string b = results("t2.csv", {broken});
  EXPECT_NE(error_of([&] { compare_result_files({a, b}, ""); }).find(b + ":2"), std::string::npos);
}

TEST(Sensitivity, RecoversKnownWeightsExactlyAndLeavesConstantColumnsOut) {
  // log2(examples/s) = 3 + 0.5 log2(nodes) - 0.25 log2(batch); layers is constant.
  std::vector<Row> rows;
  for (int nodes = 64; nodes <= 1024; nodes *= 2)
    for (int batch = 16; batch <= 256; batch *= 4)
      rows.push_back(fc(nodes, batch, std::exp2(3 + 0.5 * std::log2(nodes) - 0.25 * std::log2(batch))));
  const CsvTable t = read_results(results("sens.csv", rows));
  const std::vector<SensitivityFit> fits = fit_sensitivity(t);
  ASSERT_EQ(fits.size(), 1u);
  const SensitivityFit& f = fits[0];
  EXPECT_EQ(f.group.label(), "fc train f32");
  EXPECT_EQ(f.points, 15);
  EXPECT_EQ(f.rank, 3);
  EXPECT_NEAR(f.r2, 1.0, 1e-12);
  EXPECT_EQ(f.constant, std::vector<std::string>{"layers"});
  ASSERT_EQ(f.terms.size(), 3u);
  EXPECT_EQ(f.terms[0].name, "intercept");
  EXPECT_NEAR(f.terms[0].weight, 3.0, 1e-10);
  EXPECT_EQ(f.terms[1].name, "nodes");
  EXPECT_EQ(f.terms[1].transform, "log2");
  EXPECT_NEAR(f.terms[1].weight, 0.5, 1e-10);
  EXPECT_EQ(f.terms[2].name, "batch");
  EXPECT_NEAR(f.terms[2].weight, -0.25, 1e-10);
  EXPECT_TRUE(f.note.empty()) << f.note;

  const std::string csv = temp("sensitivity.csv");
  write_sensitivity_csv(fits, csv);
  const CsvTable out = read_csv(csv, {"term", "weight", "factor", "r2"});
  ASSERT_EQ(out.rows.size(), 3u);
  EXPECT_EQ(out.rows[1].at("term"), "nodes");
  EXPECT_EQ(out.rows[1].at("factor"), "1.41421");  // 2^0.5 per doubling
  EXPECT_EQ(out.rows[1].at("r2"), "1");
}

TEST(Sensitivity, CategoriesBecomeIndicatorsAndNoisyDataFitsBelowOne) {
  std::vector<Row> rows;
  const double noise[] = {0.1, -0.1, 0.05, -0.05, 0.0, 0.02};
  int i = 0;
  for (const char* cell : {"lstm", "gru", "rnn"})
    for (int batch : {16, 64}) {
      rows.push_back({{"model_family", "rnn"}, {"mode", "infer"}, {"dtype", "f32"}, {"status", "ok"}, {"cell", cell},
                      {"batch", std::to_string(batch)},
                      {"examples_per_s", fmt::format("{}", std::exp2(10 + std::log2(batch) + (cell == std::string("rnn") ? 2 : 0) + noise[i++]))}});
    }
  const SensitivityFit f = fit_sensitivity(read_results(results("cells.csv", rows)))[0];
  ASSERT_EQ(f.terms.size(), 4u);  // intercept, cell=lstm, cell=rnn (gru is the reference), batch
  EXPECT_EQ(f.terms[1].name, "cell=lstm");
  EXPECT_EQ(f.terms[1].transform, "indicator");
  EXPECT_EQ(f.terms[2].name, "cell=rnn");
  EXPECT_NEAR(f.terms[2].weight, 2.0, 0.2);
  EXPECT_NEAR(f.terms[3].weight, 1.0, 0.2);
  EXPECT_LT(f.r2, 1.0);
  EXPECT_GT(f.r2, 0.95);
}

TEST(Sensitivity, TooFewPointsAndCollinearTermsAreSaid) {
  const SensitivityFit few = fit_sensitivity(read_results(results("few.csv", {fc(8, 64, 10), fc(16, 128, 20)})))[0];
  EXPECT_TRUE(few.terms.empty());
  EXPECT_NE(few.note.find("too few"), std::string::npos) << few.note;
  // batch = 8 x nodes everywhere: the two terms cannot be told apart.
  std::vector<Row> rows;
  for (int nodes : {8, 16, 32, 64}) rows.push_back(fc(nodes, 8 * nodes, nodes));
  const SensitivityFit collinear = fit_sensitivity(read_results(results("collinear.csv", rows)))[0];
  EXPECT_EQ(collinear.rank, 2);
  EXPECT_NEAR(collinear.r2, 1.0, 1e-12);
  EXPECT_NE(collinear.note.find("collinear"), std::string::npos);
}

TEST(Sensitivity, FewPointsForTheParametersWarnInTheNoteAndCsv) {
  // 4 points, 3 parameters (intercept, nodes, batch): the fit is near exact whatever the data, so
  // its R^2 means nothing and the note says so.
  std::vector<Row> rows;
  const double noise[] = {0.1, -0.2, 0.05, 0.3};
  int i = 0;
  for (int nodes : {8, 16})
    for (int batch : {16, 64}) rows.push_back(fc(nodes, batch, std::exp2(5 + noise[i++]) * batch / nodes));
  const std::vector<SensitivityFit> fits = fit_sensitivity(read_results(results("fewfit.csv", rows)));
  ASSERT_EQ(fits.size(), 1u);
  EXPECT_EQ(fits[0].points, 4);
  EXPECT_EQ(fits[0].terms.size(), 3u);
  EXPECT_NE(fits[0].note.find("few points: 4 points for 3 parameters"), std::string::npos) << fits[0].note;
  const std::string csv = temp("fewfit-sensitivity.csv");
  write_sensitivity_csv(fits, csv);
  const CsvTable out = read_csv(csv, {"term", "note"});
  ASSERT_EQ(out.rows.size(), 3u);
  for (const Row& r : out.rows) EXPECT_NE(r.at("note").find("few points"), std::string::npos) << r.at("note");
  // One more point than parameters + 2: no warning.
  for (int nodes : {32, 64}) rows.push_back(fc(nodes, 16, 40.0 * 16 / nodes));
  const SensitivityFit enough = fit_sensitivity(read_results(results("enoughfit.csv", rows)))[0];
  EXPECT_EQ(enough.points, 6);
  EXPECT_EQ(enough.note.find("few points"), std::string::npos) << enough.note;
}

TEST(Heatmap, PivotsWithGeometricMeanOverOtherHyperparameters) {
  std::vector<Row> rows{fc(8, 64, 10, 2), fc(8, 64, 40, 4), fc(16, 64, 30), fc(8, 128, 50)};
  Row skipped = fc(16, 128, 0);
  skipped["status"] = "skipped";
  rows.push_back(skipped);
  const CsvTable t = read_results(results("pivot.csv", rows));
  const Heatmap h = pivot_results(t, {"nodes", "batch", "examples_per_s", "fc", "", "", ""});
  EXPECT_EQ(h.xs, (std::vector<double>{8, 16}));
  EXPECT_EQ(h.ys, (std::vector<double>{64, 128}));
  ASSERT_TRUE(h.cell[0][0]);
  EXPECT_NEAR(*h.cell[0][0], 20.0, 1e-12);  // sqrt(10 * 40)
  EXPECT_EQ(h.count[0][0], 2);
  EXPECT_DOUBLE_EQ(*h.cell[0][1], 30.0);
  EXPECT_DOUBLE_EQ(*h.cell[1][0], 50.0);
  EXPECT_FALSE(h.cell[1][1]);  // the skipped row is not a value
  EXPECT_EQ(h.spec.mode, "train");

  const std::string csv = temp("heatmap.csv");
  write_heatmap_csv(h, csv);
  const CsvTable out = read_csv(csv, {"nodes", "batch", "examples_per_s", "points"});
  EXPECT_EQ(out.rows.size(), 3u);

  EXPECT_NE(error_of([&] { pivot_results(t, {"nodes", "cell", "examples_per_s", "fc", "", "", ""}); }).find("axes need numbers"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pivot_results(t, {"nodes", "nope", "examples_per_s", "fc", "", "", ""}); }).find("no column 'nope'"),
            std::string::npos);
  std::vector<Row> modes{fc(8, 64, 10), fc(8, 64, 10)};
  modes[1]["mode"] = "infer";
  const CsvTable two_modes = read_results(results("modes.csv", modes));
  EXPECT_NE(error_of([&] { pivot_results(two_modes, {"nodes", "batch", "examples_per_s", "", "", "", ""}); }).find("--mode"),
            std::string::npos);
}

TEST(Heatmap, SpeedupFromAComparison) {
  const std::string a = results("ha.csv", {fc(8, 64, 10), fc(16, 64, 10), fc(8, 128, 10)});
  const std::string b = results("hb.csv", {fc(8, 64, 20), fc(16, 64, 5), fc(8, 128, 40)});
  const std::string out = temp("hcompare.csv");
  write_comparison_csv(compare_result_files({a, b}, ""), out);
  const Heatmap h = pivot_comparison(read_comparison(out), {"nodes", "batch", "", "fc", "train", "f32", ""});
  EXPECT_EQ(h.spec.value, "speedup");
  EXPECT_EQ(h.spec.platform, "analysis-hb");
  EXPECT_DOUBLE_EQ(*h.cell[0][0], 2.0);
  EXPECT_DOUBLE_EQ(*h.cell[0][1], 0.5);
  EXPECT_DOUBLE_EQ(*h.cell[1][0], 4.0);
}

TEST(Report, AllWritesDataIndexAndPlots) {
  std::vector<Row> a_rows, b_rows;
  for (int nodes : {64, 128, 256})
    for (int batch : {16, 32})
      for (int layers : {2, 4}) {
        Row r = fc(nodes, batch, 1000.0 * batch / nodes / layers, layers);
        r["arithmetic_intensity"] = fmt::format("{}", nodes / 4.0);
        r["flops_per_s"] = fmt::format("{}", 1e9 * nodes / 256);
        a_rows.push_back(r);
        r["examples_per_s"] = fmt::format("{}", 1500.0 * batch / nodes / layers);
        b_rows.push_back(r);
      }
  const std::string a = results("ra.csv", a_rows), b = results("rb.csv", b_rows);
  const std::string dir = temp("report");
  ReportOptions o;
  o.dir = dir;
  o.ceilings = [](const CsvTable&) {
    return std::pair<std::vector<Ceiling>, std::string>{{{"compute", "f32", 2e9, 2}, {"bandwidth", "DRAM", 1e8, 2}},
                                                         "test ceilings"};
  };
  const ReportOutcome r = report_all({a, b}, o);
  for (const char* data : {"data/compare.csv", "data/speedup-summary.csv", "data/analysis-ra-sensitivity.csv",
                           "data/analysis-ra-roofline-points.csv", "data/analysis-ra-roofline-ceilings.csv",
                           "data/analysis-rb-heatmap-fc-train-f32-examples_per_s-batch-by-nodes.csv", "data/plots.json"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + data)) << data;
  std::ifstream index(r.index);
  const std::string md((std::istreambuf_iterator<char>(index)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("## Speedups"), std::string::npos);
  EXPECT_NE(md.find("1.5x"), std::string::npos) << md;  // every workload is 1.5x faster in b
  EXPECT_NE(md.find("](analysis-ra-roofline.png)"), std::string::npos);
  EXPECT_NE(md.find("](analysis-rb-sensitivity-fc.png)"), std::string::npos);
  EXPECT_NE(r.comparison.find("joined: 12 workload(s)"), std::string::npos) << r.comparison;
  if (const std::string why = plotting_unavailable(); !why.empty()) {
    EXPECT_NE(r.plotted.message.find(why), std::string::npos);
    GTEST_SKIP() << "plots not checked: " << why;
  }
  ASSERT_TRUE(r.plotted.drawn) << r.plotted.message;
  ASSERT_GE(r.plots.size(), 6u);
  for (const std::string& png : r.plots) {
    EXPECT_GT(std::filesystem::file_size(png), 1000u) << png;
    const std::string svg = png.substr(0, png.size() - 4) + ".svg";
    EXPECT_TRUE(std::filesystem::exists(svg)) << svg;
  }
}

TEST(Report, MissingPythonLeavesDataAndSaysWhy) {
  setenv("PARADNN_PYTHON", "/nonexistent/python3", 1);
  const std::string why = plotting_unavailable();
  const std::string dir = temp("nopython");
  const ReportOutcome r = report_all({results("np.csv", {fc(8, 64, 10), fc(16, 64, 20), fc(8, 128, 30), fc(16, 128, 40)})},
                                     {dir, "", nullptr});
  unsetenv("PARADNN_PYTHON");
  EXPECT_NE(why.find("/nonexistent/python3 not found"), std::string::npos) << why;
  EXPECT_FALSE(r.plotted.drawn);
  EXPECT_NE(r.plotted.message.find("data files"), std::string::npos) << r.plotted.message;
  EXPECT_TRUE(std::filesystem::exists(dir + "/data/heatmap-fc-train-f32-examples_per_s-batch-by-nodes.csv"));
  std::ifstream index(r.index);
  const std::string md((std::istreambuf_iterator<char>(index)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("plots not drawn"), std::string::npos);
}
