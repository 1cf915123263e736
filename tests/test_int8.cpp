// int8 inference: rounding, calibration thresholds, int8 dense/conv against an
// exact integer reference, fidelity, the precision policy and its config errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include <cmath>
#include <random>

#include "models/catalog.hpp"
#include "paradnn/config.hpp"
#include "paradnn/error.hpp"
#include "paradnn/graph_builder.hpp"
#include "paradnn/grid.hpp"
#include "paradnn/quantization.hpp"
#include "platforms/cpu/precision/calibration.hpp"
#include "platforms/cpu/precision/learnable_task.hpp"
#include "platforms/cpu/probes/cpu_platform.hpp"
#include "platforms/cpu/cpu_backend.hpp"
#include "platforms/cpu/backend/onednn_executable.hpp"
#include "tests/test_helpers.hpp"

using namespace paradnn;

namespace {

bool have_vnni() { return cpu::cpu_features().vnni; }

std::vector<float> integers(size_t n, int lo, int hi, uint64_t seed) { return random_ints<float>(n, lo, hi, seed); }

// Integer weights whose every output channel reaches +-127: per-channel scale exactly 1.
std::vector<float> unit_scale_weights(int64_t out, int64_t per, uint64_t seed) {
  std::vector<float> w = integers(static_cast<size_t>(out * per), -127, 127, seed);
  for (int64_t c = 0; c < out; ++c) w[static_cast<size_t>(c * per)] = (c % 2) ? -127.f : 127.f;
  return w;
}

Point fc_point(int64_t layers, int64_t nodes, int64_t input, int64_t output, int64_t batch) {
  Point p;
  p.family = "fc";
  p.mode = Mode::infer;
  p.dtype = DType::int8;
  p.batch = batch;
  p.hp = {{"layers", layers}, {"nodes", nodes}, {"input", input}, {"output", output}, {"branches", int64_t{1}}};
  return p;
}

Config parse(const std::string& yaml) { return parse_config(yaml, "test.yaml", models::catalog()); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Int8, QuantizeDequantizeRoundTrip) {
  const float scale = 1.0f / 127;
  for (float x = -1.f; x <= 1.f; x += 0.001f) {
    EXPECT_NEAR(dequantize(quantize_s8(x, scale), scale), x, scale / 2 + 1e-6f);
    if (x >= 0) {
      EXPECT_NEAR(dequantize(quantize_u8(x, scale / 2), scale / 2), x, scale / 4 + 1e-6f);
    }
  }
  EXPECT_EQ(quantize_s8(5.f, scale), 127);    // saturates
  EXPECT_EQ(quantize_s8(-5.f, scale), -127);  // symmetric: never -128
  EXPECT_EQ(quantize_u8(-0.3f, scale), 0);
  EXPECT_EQ(quantize_u8(9.f, scale), 255);
  EXPECT_EQ(quantize_s8(1.5f, 1.f), 2);       // half away from zero
  EXPECT_EQ(quantize_s8(-1.5f, 1.f), -2);
  const std::vector<float> w = {0.5f, -1.f, 0.25f, 0.f, 0.f, 0.f};
  const std::vector<float> s = weight_scales(w, 2);
  EXPECT_FLOAT_EQ(s[0], 1.f / 127);
  EXPECT_FLOAT_EQ(s[1], 1.f);  // an all-zero channel
}

TEST(Int8, CalibrationThresholdsOnKnownHistograms) {
  // Mass in the first 128 of 2048 bins, unequal: only the 128-bin clip reproduces it exactly.
  Histogram h(2048.0);
  for (size_t k = 0; k < 128; ++k) h.counts[k] = 1000.0 - 7.0 * static_cast<double>(k);
  EXPECT_DOUBLE_EQ(threshold_kl(h, 128), 128.5);
  EXPECT_DOUBLE_EQ(threshold_max(h), 2048.0);
  // Uniform over the whole range: nothing to clip.
  Histogram u(1.0);
  for (double& c : u.counts) c = 10;
  EXPECT_NEAR(threshold_kl(u, 128), 1.0, 1.0 / 2048);
  EXPECT_NEAR(threshold_percentile(u, 50), 0.5, 1.0 / 2048);
  // A Gaussian with a few far outliers: KL and the percentile clip them, max does not.
  std::mt19937_64 rng(3);
  std::normal_distribution<float> n(0.f, 1.f);
  std::vector<float> x(200000);
  for (float& v : x) v = n(rng);
  x[0] = 40.f;
  x[1] = -40.f;
  Histogram g(40.0);
  g.add(x.data(), x.size());
  const double kl = threshold_kl(g, 128);
  EXPECT_GT(kl, 2.0);
  EXPECT_LT(kl, 8.0);
  EXPECT_NEAR(threshold_percentile(g, 99.99), 3.9, 0.4);
  EXPECT_DOUBLE_EQ(threshold_max(g), 40.0);
}

TEST(Int8, DenseMatchesIntegerReference) {
  if (!have_vnni()) GTEST_SKIP() << "no VNNI on this CPU: int8 is skipped, not emulated";
  for (bool after_relu : {false, true}) {  // s8 input, then u8 input behind a ReLU
    const int64_t n = 4, k = 32, out = 16;
    GraphBuilder b("fc", "t", n, DType::int8, Optimizer::sgd);
    int x = b.input({n, k});
    if (after_relu) x = b.relu(x, "r");
    const int y = b.dense(x, out, "fc");
    Graph g = b.finish();
    apply_precision(g, {true});
    g.ops[static_cast<size_t>(y)].quant.input_scale = 1.f;
    const std::vector<float> w = unit_scale_weights(out, k, 1), bias = integers(out, -50, 50, 2);
    const std::vector<float> in = integers(static_cast<size_t>(n * k), -60, 60, 3);
    cpu::InferenceModel m(g, Mode::infer, {{"fc.weight", w}, {"fc.bias", bias}});
    m.feed(0, in);
    m.run();
    const std::vector<float> got = m.tensor(y);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < out; ++c) {
        double acc = bias[static_cast<size_t>(c)];
        for (int64_t j = 0; j < k; ++j) {
          const float v = in[static_cast<size_t>(r * k + j)];
          acc += static_cast<double>(after_relu ? std::max(v, 0.f) : v) * w[static_cast<size_t>(c * k + j)];
        }
        ASSERT_EQ(got[static_cast<size_t>(r * out + c)], static_cast<float>(acc)) << "row " << r << " col " << c;
      }
  }
}

// dense -> ReLU -> dense, both int8: the first requantizes into u8 at the second's input
// scale and the second reads that u8 as is. Scale 3 keeps every y1 / 3 off a rounding tie.
TEST(Int8, ConsecutiveLayersHandOffU8) {
  if (!have_vnni()) GTEST_SKIP() << "no VNNI on this CPU: int8 is skipped, not emulated";
  const int64_t n = 4, k = 32, mid = 16, out = 8;
  const float s2 = 3.f;
  GraphBuilder b("fc", "t", n, DType::int8, Optimizer::sgd);
  const int r = b.relu(b.dense(b.input({n, k}), mid, "fc1"), "r");
  const int y = b.dense(r, out, "fc2");
  Graph g = b.finish();
  apply_precision(g, {true, true});
  g.ops[static_cast<size_t>(g.op(r).inputs.at(0))].quant.input_scale = 1.f;
  g.ops[static_cast<size_t>(y)].quant.input_scale = s2;
  const std::vector<float> w1 = unit_scale_weights(mid, k, 11), b1 = integers(mid, -50, 50, 12);
  const std::vector<float> w2 = unit_scale_weights(out, mid, 13), b2 = integers(out, -50, 50, 14);
  const std::vector<float> in = integers(static_cast<size_t>(n * k), -3, 3, 15);
  cpu::InferenceModel m(g, Mode::infer, {{"fc1.weight", w1}, {"fc1.bias", b1}, {"fc2.weight", w2}, {"fc2.bias", b2}});
  m.feed(0, in);
  m.run();
  const std::vector<float> hidden = m.tensor(r), got = m.tensor(y);
  for (int64_t row = 0; row < n; ++row) {
    std::vector<double> q(static_cast<size_t>(mid));  // the u8 hand-off, in units of s2
    for (int64_t c = 0; c < mid; ++c) {
      double acc = b1[static_cast<size_t>(c)];
      for (int64_t j = 0; j < k; ++j) acc += static_cast<double>(in[static_cast<size_t>(row * k + j)]) * w1[static_cast<size_t>(c * k + j)];
      q[static_cast<size_t>(c)] = std::clamp(std::round(std::max(acc, 0.0) / s2), 0.0, 255.0);
      ASSERT_EQ(hidden[static_cast<size_t>(row * mid + c)], static_cast<float>(q[static_cast<size_t>(c)] * s2)) << "hidden " << c;
    }
    for (int64_t c = 0; c < out; ++c) {
      double acc = b2[static_cast<size_t>(c)];
      for (int64_t j = 0; j < mid; ++j) acc += q[static_cast<size_t>(j)] * s2 * w2[static_cast<size_t>(c * mid + j)];
      ASSERT_EQ(got[static_cast<size_t>(row * out + c)], static_cast<float>(acc)) << "row " << row << " col " << c;
    }
  }
}

// conv -> batch norm -> ReLU -> conv in int8 inference: the norm is folded into the first
// conv (no call of its own), whose u8 output goes straight to the second. With statistics
// far from (0, 1) a wrong fold would miss by far more than int8 rounding does.
TEST(Int8, BatchNormFoldedIntoConv) {
  if (!have_vnni()) GTEST_SKIP() << "no VNNI on this CPU: int8 is skipped, not emulated";
  GraphBuilder b("cnn", "t", 8, DType::int8, Optimizer::sgd);
  const int c1 = b.conv(b.input({8, 4, 8, 8}), 16, 3, 1, 1, "c1");
  const int c2 = b.conv(b.relu(b.batch_norm(c1, "bn"), "r"), 16, 3, 1, 1, "c2");
  b.softmax_xent(b.dense(b.global_avg_pool(c2, "gap"), 10, "head"));
  Graph g = b.finish();
  apply_precision(g, {true, true, false});
  cpu::CpuExecutable ex(g, Mode::infer);
  EXPECT_EQ(ex.kernels().find("bnorm"), std::string::npos) << ex.kernels();
  auto values = [](uint64_t seed, float lo, float hi) {
    std::vector<float> v = integers(16, 0, 1000, seed);
    for (float& x : v) x = lo + (hi - lo) * x / 1000;
    return v;
  };
  const cpu::Weights w = {{"bn.gamma", values(1, 0.5f, 2.f)}, {"bn.beta", values(2, -1.f, 1.f)},
                          {"bn.mean", values(3, -0.5f, 0.5f)}, {"bn.var", values(4, 0.2f, 3.f)}};
  CalibrationOptions o;
  o.batches = 2;
  cpu::calibrate(g, o, "", w);
  const Fidelity f = cpu::measure_fidelity(g, o, w);
  EXPECT_GT(f.top1_agreement, 0.9);
  EXPECT_LT(f.logits_rel_l2, 0.03);
  EXPECT_GT(f.logits_rel_l2, 0.0);
}

TEST(Int8, ConvMatchesIntegerReference) {
  if (!have_vnni()) GTEST_SKIP() << "no VNNI on this CPU: int8 is skipped, not emulated";
  const int64_t n = 2, c = 8, h = 7, o = 16, kk = 3;
  GraphBuilder b("cnn", "t", n, DType::int8, Optimizer::sgd);
  const int x = b.input({n, c, h, h});
  const int y = b.conv_bias(x, o, kk, 2, 1, "conv");
  Graph g = b.finish();
  apply_precision(g, {true});
  g.ops[static_cast<size_t>(y)].quant.input_scale = 0.5f;  // inputs are multiples of 0.5
  const std::vector<float> w = unit_scale_weights(o, c * kk * kk, 4), bias = integers(o, -9, 9, 5);
  std::vector<float> in = integers(static_cast<size_t>(n * c * h * h), -100, 100, 6);
  for (float& v : in) v *= 0.5f;
  cpu::InferenceModel m(g, Mode::infer, {{"conv.weight", w}, {"conv.bias", bias}});
  m.feed(0, in);
  m.run();
  const std::vector<float> got = m.tensor(y);
  const int64_t oh = g.op(y).out[2];
  for (int64_t b0 = 0; b0 < n; ++b0)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < oh; ++j) {
          double acc = bias[static_cast<size_t>(oc)];
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t ki = 0; ki < kk; ++ki)
              for (int64_t kj = 0; kj < kk; ++kj) {
                const int64_t yi = i * 2 - 1 + ki, xj = j * 2 - 1 + kj;
                if (yi < 0 || yi >= h || xj < 0 || xj >= h) continue;
                acc += static_cast<double>(in[static_cast<size_t>(((b0 * c + ic) * h + yi) * h + xj)]) *
                       w[static_cast<size_t>(((oc * c + ic) * kk + ki) * kk + kj)];
              }
          ASSERT_EQ(got[static_cast<size_t>(((b0 * o + oc) * oh + i) * oh + j)], static_cast<float>(acc));
        }
}

TEST(Int8, FidelityAccumulator) {
  FidelityAccumulator a;
  a.add({1, 2, 3, 3, 2, 1}, {1, 2, 3.5f, 1, 2, 3}, 3);
  EXPECT_EQ(a.rows(), 2);
  EXPECT_DOUBLE_EQ(a.top1_agreement(), 0.5);
  EXPECT_NEAR(a.relative_l2(), std::sqrt((0.25 + 4 + 4) / 28.0), 1e-12);
  EXPECT_THROW(a.add({1, 2}, {1, 2, 3}, 1), std::invalid_argument);
}

TEST(Int8, CalibratedFcKeepsFidelity) {
  if (!have_vnni()) GTEST_SKIP() << "no VNNI on this CPU";
  const Point p = fc_point(3, 256, 128, 10, 64);
  for (const CalibrationMethod method : {CalibrationMethod::max, CalibrationMethod::percentile, CalibrationMethod::kl}) {
    Graph g = build_graph(p, models::catalog());
    apply_precision(g, int8_layers(g, PrecisionPolicy{}));
    CalibrationOptions o;
    o.method = method;
    o.batches = 2;
    cpu::calibrate(g, o);
    for (int i : quantizable_layers(g)) EXPECT_GT(g.op(i).quant.input_scale, 0.f);
    const Fidelity f = cpu::measure_fidelity(g, o);
    EXPECT_EQ(f.rows, 64 * o.eval_batches);
    EXPECT_GT(f.top1_agreement, 0.8) << to_string(method);
    EXPECT_LT(f.logits_rel_l2, 0.1) << to_string(method);
    EXPECT_GT(f.logits_rel_l2, 0.0) << "int8 identical to f32: the int8 path did not run";
  }
}

// Trains point p (all layers int8, KL calibration) on its task for `steps` steps: f32 must
// learn it, and int8 keep the accuracy within a few points.
void expect_int8_keeps_task_accuracy(const Point& p, int steps, const std::string& task) {
  Graph g = build_graph(p, models::catalog());
  apply_precision(g, int8_layers(g, PrecisionPolicy{}));
  CalibrationOptions o;
  o.method = CalibrationMethod::kl;
  o.batches = 4;
  const TaskAccuracy a = cpu::task_accuracy(g, o, steps);
  EXPECT_EQ(a.task, task);
  EXPECT_LT(a.final_loss, 0.5 * a.first_loss);
  EXPECT_GT(a.f32_accuracy, 0.8);
  EXPECT_GT(a.reduced_accuracy, a.f32_accuracy - 0.05);
  std::printf("[task %s] f32 accuracy %.3f, int8 %.3f, loss %.3f -> %.3f\n", task.c_str(), a.f32_accuracy, a.reduced_accuracy,
              a.first_loss, a.final_loss);
}

// On a trained model (the seeded Gaussian-mixture task) int8 must keep the accuracy f32
// reaches, within a few points: random weights alone cannot show that.
TEST(Int8, TrainedOnTheMixtureTaskKeepsAccuracy) {
  if (!have_vnni()) GTEST_SKIP() << "no VNNI on this CPU";
  expect_int8_keeps_task_accuracy(fc_point(2, 128, 64, 10, 64), 200, "gaussian-mixture/10");
}

// The CNN version: seeded shape images (8 classes that differ in form only). Batch-norm
// statistics of the trained model must reach the inference models, or neither classifies.
TEST(Int8, TrainedOnShapeImagesKeepsAccuracy) {
  if (!have_vnni()) GTEST_SKIP() << "no VNNI on this CPU";
  Point p;
  p.family = "cnn";
  p.mode = Mode::infer;
  p.dtype = DType::int8;
  p.batch = 32;
  p.hp = {{"blocks", int64_t{1}}, {"filters", int64_t{16}}, {"image", int64_t{32}}, {"output", int64_t{8}},
          {"bottleneck", int64_t{0}}, {"branches", int64_t{1}}};
  expect_int8_keeps_task_accuracy(p, 400, "shapes/8");
}

TEST(Int8, PolicyPicksLayers) {
  const Point p = fc_point(3, 64, 32, 10, 8);
  Graph g = build_graph(p, models::catalog());
  const Config c = parse("precision: {default: int8, keep_f32: [first, last]}\nfamily: fc\nfixed: {batch: 8}\n");
  EXPECT_EQ(int8_layers(g, c.quant.policy), (std::vector<bool>{false, true, true, false}));
  apply_precision(g, int8_layers(g, c.quant.policy));
  EXPECT_EQ(describe_precision(g), "int8 2/4; f32: fc1 classifier");
  const std::vector<int> q = quantizable_layers(g);
  EXPECT_EQ(g.op(q[1]).dtype, DType::int8);
  EXPECT_EQ(g.op(q[1] + 1).dtype, DType::int8);  // its ReLU, fused
  EXPECT_EQ(g.op(q[0]).dtype, DType::f32);
  EXPECT_EQ(g.op(0).dtype, DType::f32);  // data
  const Config c2 = parse("precision: {default: f32, int8: [1, -2, fc2]}\nfamily: fc\nfixed: {batch: 8}\n");
  EXPECT_EQ(int8_layers(g, c2.quant.policy), (std::vector<bool>{false, true, true, false}));
  const Config c3 = parse("calibration: {method: percentile, percentile: 99.9, batches: 3}\nfamily: fc\nfixed: {batch: 8}\n");
  EXPECT_EQ(c3.quant.calibration.describe(), "percentile99.9/3");
}

TEST(Int8, PolicyErrorsNameFileAndLine) {
  const std::string tail = "family: fc\nfixed: {batch: 8}\n";
  EXPECT_NE(error_of([&] { parse("name: x\nprecision: {default: int9}\n" + tail); }).find("test.yaml:2:"), std::string::npos);
  EXPECT_NE(error_of([&] { parse("precision:\n  default: int8\n  keep: [first]\n" + tail); }).find("test.yaml:3:"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse("precision: {default: int8, int8: [first]}\n" + tail); }).find("keep_f32"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse("calibration: {method: entropy}\n" + tail); }).find("test.yaml:1:"), std::string::npos);
  EXPECT_NE(error_of([&] { parse("calibration: {batches: 0}\n" + tail); }).find("must be >= 1"), std::string::npos);
  EXPECT_NE(error_of([&] { parse("calibration: {percentile: 120}\n" + tail); }).find("(0, 100]"), std::string::npos);
  // Selectors are checked against each model: the error points at the selector's line.
  const Config c = parse("precision:\n  default: int8\n  keep_f32: [first, 9]\n" + tail);
  const Point p = fc_point(2, 16, 8, 4, 8);
  const Graph g = build_graph(p, models::catalog());
  const std::string e = error_of([&] { int8_layers(g, c.quant.policy); });
  EXPECT_NE(e.find("test.yaml:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("out of range"), std::string::npos) << e;
  const Config named = parse("precision: {default: int8, keep_f32: [conv9]}\n" + tail);
  EXPECT_NE(error_of([&] { int8_layers(g, named.quant.policy); }).find("no layer named 'conv9'"), std::string::npos);
}

TEST(Int8, BackendSaysWhatItCannotRun) {
  auto backend = cpu::make_cpu_backend();
  Point p;
  p.family = "rnn";
  p.mode = Mode::infer;
  p.dtype = DType::int8;
  p.batch = 4;
  p.hp = {{"cell", std::string("rnn")}, {"layers", int64_t{1}}, {"embed", int64_t{16}}, {"seq_len", int64_t{3}},
          {"vocab", int64_t{50}}};
  Graph g = build_graph(p, models::catalog());
  apply_precision(g, int8_layers(g, PrecisionPolicy{}));
  const auto why = backend->cannot_run(g, Mode::infer);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find(have_vnni() ? "vanilla" : "VNNI"), std::string::npos) << *why;
  p.hp["cell"] = std::string("lstm");
  Graph lstm = build_graph(p, models::catalog());
  apply_precision(lstm, int8_layers(lstm, PrecisionPolicy{}));
  EXPECT_EQ(backend->cannot_run(lstm, Mode::infer).has_value(), !have_vnni());
  Graph unapplied = build_graph(p, models::catalog());  // every op int8: the embedding has no int8 path
  EXPECT_TRUE(backend->cannot_run(unapplied, Mode::infer).has_value());
  const auto train = backend->cannot_run(g, Mode::train);
  ASSERT_TRUE(train.has_value());
}

// One LSTM step from a zero state pins down oneDNN's RNN quantization convention (u8 data =
// x / scale + 128, s8 weights per gate row, compensation for the shift): with inputs on the
// u8 grid and weights on the s8 grid, int8 must equal the f32 cell up to float rounding.
TEST(Int8, LstmStepMatchesQuantizedReference) {
  if (!have_vnni()) GTEST_SKIP() << "no VNNI on this CPU: int8 is skipped, not emulated";
  const int64_t n = 3, c = 16, h = 16, rows = 4 * h;
  GraphBuilder b("rnn", "t", n, DType::int8, Optimizer::sgd);
  const int y = b.rnn(b.input({1, n, c}), RnnCell::lstm, 1, h, "rnn");
  Graph g = b.finish();
  apply_precision(g, {true});
  g.ops[static_cast<size_t>(y)].quant.input_scale = 1.f / 127;
  // Weights k / 1016 with |k| <= 127 and one k = +-127 in every w_x row: scale 1016 per row.
  const float unit = 1.f / (127 * 8);
  std::vector<float> wx = unit_scale_weights(rows, c, 7), wh = integers(static_cast<size_t>(rows * h), -127, 127, 8);
  for (float& v : wx) v *= unit;
  for (float& v : wh) v *= unit;
  std::vector<float> bias = integers(static_cast<size_t>(rows), -20, 20, 9);
  for (float& v : bias) v *= 0.05f;
  std::vector<float> in = integers(static_cast<size_t>(n * c), -127, 127, 10);
  for (float& v : in) v /= 127;
  cpu::InferenceModel m(g, Mode::infer, {{"rnn.w_x", wx}, {"rnn.w_h", wh}, {"rnn.bias", bias}});
  m.feed(0, in);
  m.run();
  const std::vector<float> got = m.tensor(y);
  auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
  double worst = 0;
  int checked = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < h; ++o) {
      double gate[4];  // oneDNN's order: i, f, c~, o
      for (int64_t k = 0; k < 4; ++k) {
        const int64_t row = k * h + o;
        gate[k] = bias[static_cast<size_t>(row)];
        for (int64_t j = 0; j < c; ++j)
          gate[k] += static_cast<double>(wx[static_cast<size_t>(row * c + j)]) * in[static_cast<size_t>(r * c + j)];
      }
      const double cell = sigmoid(gate[0]) * std::tanh(gate[2]);
      // The f32 output is the hidden state as the next step reads it: on the u8 grid.
      const double exact = sigmoid(gate[3]) * std::tanh(cell) * 127, grid = std::round(exact);
      if (std::fabs(std::fabs(exact - grid) - 0.5) < 1e-3) continue;  // a rounding tie: either side is right
      worst = std::max(worst, std::fabs(got[static_cast<size_t>(r * h + o)] - grid / 127));
      checked++;
    }
  EXPECT_GT(checked, n * h - 3);
  EXPECT_LT(worst, 1e-6) << "largest difference from the quantized reference";
}

// Stacked LSTM and GRU over a sequence, calibrated: the hidden states are requantized at
// every step, so int8 is close to f32, not equal.
TEST(Int8, CalibratedRecurrentStacksKeepFidelity) {
  if (!have_vnni()) GTEST_SKIP() << "no VNNI on this CPU";
  for (const RnnCell cell : {RnnCell::lstm, RnnCell::gru}) {
    GraphBuilder b("rnn", "t", 8, DType::int8, Optimizer::sgd);
    b.softmax_xent(b.dense(b.rnn(b.input({6, 8, 32}), cell, 2, 32, "rnn"), 10, "head"));
    Graph g = b.finish();
    apply_precision(g, {true, false});
    CalibrationOptions o;
    o.batches = 2;
    cpu::calibrate(g, o);
    const Fidelity f = cpu::measure_fidelity(g, o);
    EXPECT_GT(f.top1_agreement, 0.9) << to_string(cell);
    EXPECT_LT(f.logits_rel_l2, 0.05) << to_string(cell);
    EXPECT_GT(f.logits_rel_l2, 0.0) << "int8 identical to f32: the int8 path did not run";
  }
}
