// The torch backend: paradnn graphs run by /usr/bin/python3's torch in worker processes.
// Where that interpreter lacks torch, every test but the one about saying so skips.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/catalog.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/grid.hpp"
#include "platforms/cpu/backend/onednn_executable.hpp"
#include "platforms/registry.hpp"
#include "platforms/torch/torch_backend.hpp"
#include "runners/drivers/settings_file.hpp"

using namespace paradnn;

namespace {

std::unique_ptr<Backend> torch_backend() {
  auto b = make_backend("torch");
  if (const auto why = b->unavailable()) return nullptr;
  return b;
}

#define TORCH_OR_SKIP(b)                                                                      \
  auto b = torch_backend();                                                                   \
  if (!b) GTEST_SKIP() << "no torch: " << *make_backend("torch")->unavailable();

Point fc_point(int64_t batch) {
  Point p;
  p.family = "fc";
  p.hp = {{"layers", int64_t{2}}, {"nodes", int64_t{32}}, {"input", int64_t{32}}, {"output", int64_t{10}},
          {"branches", int64_t{1}}};
  p.batch = batch;
  return p;
}

Point cnn_point(int64_t batch) {
  Point p;
  p.family = "cnn";
  p.hp = {{"blocks", int64_t{1}}, {"filters", int64_t{4}}, {"image", int64_t{32}}, {"output", int64_t{10}},
          {"branches", int64_t{1}}, {"bottleneck", int64_t{0}}};
  p.batch = batch;
  return p;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* kTinyConfig =
    "name: torch-tiny\n"
    "run: {warmup_s: 0.05, repetitions: 3, min_time_s: 0.05}\n"
    "modes: [train, infer]\ndtypes: [f32]\n"
    "tune: {intra_threads: [1, 2], inter_pools: [1, 2], affinity: [none, close], holdout_every: 0}\n"
    "sweeps:\n"
    "  - family: fc\n    axes: {batch: [16]}\n"
    "    fixed: {layers: 2, nodes: 32, input: 32, output: 10, branches: 1}\n"
    "  - family: cnn\n    axes: {batch: [4]}\n"
    "    fixed: {blocks: 1, filters: 4, image: 32, output: 10, branches: 1, bottleneck: 0}\n";

}  // namespace

TEST(TorchBackend, MissingTorchIsSaid) {
  const char* old = std::getenv("PARADNN_TORCH_PYTHON");
  setenv("PARADNN_TORCH_PYTHON", "/nonexistent/python3", 1);
  const auto b = make_backend("torch");
  const auto why = b->unavailable();
  if (old) setenv("PARADNN_TORCH_PYTHON", old, 1);
  else unsetenv("PARADNN_TORCH_PYTHON");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("python3-torch"), std::string::npos) << *why;
}

TEST(TorchBackend, ModelHasTheGraphsParameters) {
  TORCH_OR_SKIP(b);
  for (const Point& p : {fc_point(16), cnn_point(4)}) {
    const Graph g = build_graph(p, models::catalog());
    ASSERT_FALSE(b->cannot_run(g, Mode::train)) << *b->cannot_run(g, Mode::train);
    const auto exe = b->prepare(g, Mode::train, {1, 1, Affinity::none});
    EXPECT_EQ(torch::parameter_count(*exe), g.param_count()) << g.name;
  }
}

TEST(TorchBackend, TrainingLossDecreases) {
  TORCH_OR_SKIP(b);
  const Graph g = build_graph(fc_point(16), models::catalog());
  const auto exe = b->prepare(g, Mode::train, {1, 1, Affinity::none});
  EXPECT_EQ(exe->clock(), Clock::device);
  exe->step();
  const double first = exe->loss();
  double seconds = 0;
  for (int i = 0; i < 300; ++i) seconds += exe->step_seconds();
  const double later = exe->loss();
  std::cout << "fc 2x32 batch 16: loss " << first << " -> " << later << ", " << seconds / 300 << " s/step\n";
  ASSERT_TRUE(std::isfinite(first));
  EXPECT_LT(later, 0.8 * first);
  EXPECT_GT(seconds, 0);
}

TEST(TorchBackend, ForwardAgreesWithTheCpuBackend) {
  TORCH_OR_SKIP(b);
  const Graph g = build_graph(fc_point(16), models::catalog());
  cpu::CpuExecutable cpu(g, Mode::infer, true, cpu::Buffers::one_per_tensor);
  std::map<std::string, std::vector<float>> params;
  for (const Op& op : g.ops)
    for (const Param& p : op.params) params[p.name] = cpu.param(p.name);
  cpu.step();
  const int logits = g.op(g.loss_op()).inputs[0];
  const std::vector<float> want = cpu.output(logits), input = cpu.output(0);
  const auto exe = b->prepare(g, Mode::infer, {1, 1, Affinity::none});
  const std::vector<float> got = torch::forward_with(*exe, params, input);
  ASSERT_EQ(got.size(), want.size());
  double err = 0, norm = 0;
  for (size_t i = 0; i < got.size(); ++i) err += (got[i] - want[i]) * (got[i] - want[i]), norm += want[i] * want[i];
  EXPECT_LT(std::sqrt(err / norm), 1e-5) << "relative L2 difference of the logits";
}

TEST(TorchBackend, UnsupportedOpsAreSkippedWithAReason) {
  TORCH_OR_SKIP(b);
  Point p = fc_point(16);
  p.dtype = DType::bf16;
  const Graph g = build_graph(p, models::catalog());
  const auto why = b->cannot_run(g, Mode::infer);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("f32 only"), std::string::npos) << *why;
}

TEST(TorchBackend, RunAndTuneThroughTheCli) {
  TORCH_OR_SKIP(b);
  const std::string dir = testing::TempDir() + "/torch-cli";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/tiny.yaml") << kTinyConfig;
  const std::string run = std::string(PARADNN_BINARY) + " run " + dir + "/tiny.yaml --backend torch --no-ceilings -q --force -o " +
                          dir + "/run.csv > " + dir + "/run.txt 2>&1";
  ASSERT_EQ(std::system(run.c_str()), 0) << slurp(dir + "/run.txt");
  const CsvTable t = read_csv(dir + "/run.csv");
  ASSERT_EQ(t.rows.size(), 4u) << slurp(dir + "/run.csv");
  for (const Row& r : t.rows) {
    EXPECT_EQ(r.at("status"), "ok") << r.at("model_name") << ": " << r.at("reason");
    EXPECT_EQ(r.at("backend"), "torch");
    EXPECT_EQ(r.at("source"), "measured");
    EXPECT_NE(r.at("device_name").find("PyTorch"), std::string::npos) << r.at("device_name");
    EXPECT_GT(std::stod(r.at("examples_per_s")), 0);
    if (r.at("mode") == "train") {
      EXPECT_TRUE(std::isfinite(std::stod(r.at("loss")))) << r.at("loss");
    }
  }
  const std::string tune = std::string(PARADNN_BINARY) + " tune " + dir + "/tiny.yaml --backend torch --filter family==fc -q --force -o " +
                           dir + "/tune.csv --report " + dir + "/tune.md --settings-out " + dir + "/settings.yaml > " + dir +
                           "/tune.txt 2>&1";
  ASSERT_EQ(std::system(tune.c_str()), 0) << slurp(dir + "/tune.txt");
  const SettingsFile s = load_settings_file(dir + "/settings.yaml");
  EXPECT_FALSE(s.rules.empty()) << slurp(dir + "/settings.yaml");
  EXPECT_NE(s.platform.find("PyTorch"), std::string::npos) << s.platform;
}
