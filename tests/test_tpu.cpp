// TPU-host backend: tile arithmetic, ceilings, memory check, spec parsing, slice naming and
// the qualitative facts ParaDnn published for Cloud TPU v2-8.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>
#include <filesystem>
#include <fstream>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "paradnn/graph_builder.hpp"
#include "paradnn/grid.hpp"
#include "platforms/model/cpu_roofline_model.hpp"
#include "platforms/simulated/host_infeed.hpp"
#include "platforms/model/matrix_unit.hpp"
#include "platforms/model/op_fusion.hpp"
#include "platforms/simulated/simulated_backend.hpp"
#include "platforms/model/step_model.hpp"

using namespace paradnn;
using namespace paradnn::simulated;
using namespace paradnn::model;

namespace {

// A point of `family` with the catalog's defaults.
Point defaults(const std::string& family, int64_t batch, DType dt = DType::bf16) {
  Point p;
  p.family = family;
  for (const FamilySpec& f : models::catalog())
    if (f.name == family)
      for (const ParamSpec& s : f.params) p.hp[s.name] = s.default_value;
  p.batch = batch;
  p.dtype = dt;
  return p;
}

Graph fc(int64_t layers, int64_t nodes, int64_t input, int64_t output, int64_t batch, DType dt = DType::bf16,
         Mode m = Mode::train, Optimizer opt = Optimizer::sgd) {
  Point p = defaults("fc", batch, dt);
  p.hp["layers"] = layers;
  p.hp["nodes"] = nodes;
  p.hp["input"] = input;
  p.hp["output"] = output;
  p.mode = m;
  p.optimizer = opt;
  return models::build_fc(p);
}

// ParaDnn's runs: bf16 on TPU, RMSProp (its default optimizer).
Graph paradnn_fc(int64_t nodes, int64_t batch) {
  return fc(4, nodes, 8000, 1000, batch, DType::bf16, Mode::train, Optimizer::rmsprop);
}

StepPrediction predict(const Graph& g, const std::string& slice, Mode m = Mode::train) {
  const DeviceSlice s = resolve_slice(slice);
  return predict_step(g, m, s, s.spec.stack.host_infeed_bytes_per_s);
}

std::string spec_text(const std::string& gen) {
  std::ifstream in(specs_dir() + "/" + gen + ".yaml");
  std::stringstream t;
  t << in.rdbuf();
  return t.str();
}

}  // namespace

TEST(TpuTiles, SublaneTileByElementSize) {
  EXPECT_EQ(sublane_tile(DType::f32), 8);
  EXPECT_EQ(sublane_tile(DType::bf16), 16);
  EXPECT_EQ(sublane_tile(DType::int8), 32);
}

// A TPU spec with `mxu`-wide MXUs (v2's figures otherwise).
DeviceSpec with_mxu(int mxu) {
  DeviceSpec s = resolve_slice("v2").spec;
  s.mxu_size = mxu;
  return s;
}

TEST(TpuTiles, PaddingOnHandWorkedShapes) {
  // C[100, 300] = A[100, 200] B[200, 300] in bf16 on 128-wide MXUs:
  // m 100 -> 112 (16-row sublane tiles), k 200 -> 256, n 300 -> 384; weight-load floor 128 rows.
  const PaddedGemm p = pad_gemm({100, 200, 300}, DType::bf16, with_mxu(128));
  EXPECT_EQ(p.m, 112);
  EXPECT_EQ(p.k, 256);
  EXPECT_EQ(p.n, 384);
  EXPECT_EQ(p.streamed_rows, 128);
  EXPECT_DOUBLE_EQ(p.issued_flops, 2.0 * 128 * 256 * 384);
  EXPECT_DOUBLE_EQ(p.useful_flops, 2.0 * 100 * 200 * 300);
  // f32 pads m to 8-row tiles; int8 to 32; 256-wide MXUs (v6e) pad k and n to 256.
  EXPECT_EQ(pad_gemm({1000, 130, 129}, DType::f32, with_mxu(128)).m, 1000);
  EXPECT_EQ(pad_gemm({1000, 130, 129}, DType::int8, with_mxu(128)).m, 1024);
  const PaddedGemm w = pad_gemm({1000, 130, 129}, DType::bf16, with_mxu(256));
  EXPECT_EQ(w.m, 1008);
  EXPECT_EQ(w.k, 256);
  EXPECT_EQ(w.n, 256);
  // Aligned and large: no waste.
  EXPECT_DOUBLE_EQ(pad_gemm({2048, 1024, 512}, DType::bf16, with_mxu(128)).efficiency(), 1.0);
  // Small layers waste the MXU: a 32-wide layer uses 1/4 of the 128 columns.
  EXPECT_DOUBLE_EQ(pad_gemm({2048, 128, 32}, DType::bf16, with_mxu(128)).efficiency(), 0.25);
}

TEST(TpuTiles, MxuSecondsAtPeakPerCore) {
  const DeviceSpec v2 = resolve_slice("v2").spec;
  // One v2 core: 45e12 / 2 FLOP/s. 2048x1024x512 is aligned: exactly flops / peak.
  const Gemm g{2048, 1024, 512};
  EXPECT_NEAR(matrix_seconds(g, DType::bf16, v2), g.flops() / (22.5e12 * v2.stack.matrix_efficiency), 1e-15);
  // f32 runs as one bf16 pass (XLA default precision): same MXU time.
  EXPECT_NEAR(matrix_seconds(g, DType::f32, v2), matrix_seconds(g, DType::bf16, v2), 1e-15);
}

TEST(TpuModel, OpTimePicksTheBindingCeiling) {
  const DeviceSpec v3 = resolve_slice("v3").spec;
  Segment mxu_heavy;
  mxu_heavy.gemms = {{4096, 4096, 4096}};
  mxu_heavy.hbm_bytes = 1e6;
  mxu_heavy.vector_ops = 1e6;
  const UnitTimes a = time_segments({mxu_heavy}, DType::bf16, v3);
  EXPECT_EQ(a.bound, Ceiling::matrix_unit);
  EXPECT_DOUBLE_EQ(a.seconds, a.matrix);

  Segment hbm_heavy;
  hbm_heavy.hbm_bytes = 1e9;
  hbm_heavy.vector_ops = 1e6;
  const UnitTimes b = time_segments({hbm_heavy}, DType::bf16, v3);
  EXPECT_EQ(b.bound, Ceiling::hbm);
  EXPECT_NEAR(b.seconds, 1e9 / (900e9 / 2), 1e-12);

  Segment vpu_heavy;
  vpu_heavy.vector_ops = 1e10;
  vpu_heavy.hbm_bytes = 1e6;
  const UnitTimes c = time_segments({vpu_heavy}, DType::bf16, v3);
  EXPECT_EQ(c.bound, Ceiling::vector_unit);
  EXPECT_NEAR(c.seconds, 1e10 / (8 * 128 * 940e6), 1e-9);

  // Repeated steps (an RNN): the sum of per-step maxima, not the max of sums.
  Segment step1 = mxu_heavy, step2 = hbm_heavy;
  const UnitTimes d = time_segments({step1, step2}, DType::bf16, v3);
  EXPECT_NEAR(d.seconds, a.seconds + b.seconds, 1e-12);
}

TEST(TpuModel, ElementwiseOpsFuseIntoTheirProducer) {
  const Graph g = fc(2, 256, 100, 10, 64);
  const std::vector<int> lead = fusion_leaders(g);
  for (size_t i = 0; i < g.ops.size(); ++i)
    if (g.ops[i].kind == OpKind::relu) {
      EXPECT_EQ(g.op(lead[i]).kind, OpKind::dense) << g.ops[i].name;
    }
  // Rows name the fusion: "fc1+fc1.relu"; no relu runs on its own.
  const StepPrediction p = predict(g, "v3-8");
  int fused = 0;
  for (const OpPrediction& o : p.ops) {
    if (o.name.find("relu") != std::string::npos) {
      EXPECT_NE(o.name.find('+'), std::string::npos) << o.name;
    }
    fused += o.name == "fc1+fc1.relu";
  }
  EXPECT_EQ(fused, 2);  // forward and backward
}

TEST(TpuModel, MemoryCheckSkipsAnOversizedPoint) {
  // 128 layers of 8192 nodes: 8.6 G weights; f32 master, bf16 copy and f32 gradient alone
  // are ~86 GB, over the 8 GiB of HBM per v2 TensorCore.
  const Graph big = fc(128, 8192, 8000, 1000, 1024);
  const DeviceSlice v2 = resolve_slice("v2-8");
  const MemoryFit f = check_memory(big, Mode::train, v2);
  ASSERT_TRUE(f.reason.has_value());
  EXPECT_NE(f.reason->find("per core"), std::string::npos) << *f.reason;
  EXPECT_NE(f.reason->find("TPU v2-8"), std::string::npos) << *f.reason;
  const auto backend = make_tpu_backend("v2-8", false);
  ASSERT_TRUE(backend->cannot_run(big, Mode::train).has_value());
  EXPECT_THROW(backend->prepare(big, Mode::train, {}), Unsupported);
  // A small model fits; padding is reported (a 32-wide layer pads to 128 lanes).
  const MemoryFit small = check_memory(fc(4, 32, 2000, 200, 1024), Mode::train, v2);
  EXPECT_FALSE(small.reason.has_value());
  EXPECT_GT(small.padding_factor, 1.0);
}

TEST(DeviceSpec, EveryShippedGenerationLoads) {
  for (const std::string gen : {"v2", "v3", "v4", "v5e", "v5p", "v6e"}) {
    const DeviceSpec s = load_spec(specs_dir() + "/" + gen + ".yaml");
    EXPECT_EQ(s.generation, gen);
    EXPECT_EQ(s.vector_sublanes, 8) << gen;
    EXPECT_EQ(s.vector_lanes, 128) << gen;
    EXPECT_EQ(s.mxu_size, gen == "v6e" ? 256 : 128) << gen;
    EXPECT_GT(s.matrix_peak_per_chip.at(DType::bf16), 1e13) << gen;
    EXPECT_GT(s.hbm_bytes_per_s_per_chip, 1e11) << gen;
    // Where the clock is published, MXUs x size^2 x 2 x clock reproduces the peak.
    if (gen == "v2" || gen == "v3" || gen == "v4") {
      const double derived = 2.0 * s.tensorcores_per_chip * s.mxus_per_tensorcore * s.mxu_size * s.mxu_size * s.clock_hz;
      EXPECT_NEAR(derived / s.matrix_peak_per_chip.at(DType::bf16), 1.0, 0.03) << gen;
    }
  }
}

TEST(DeviceSpec, SliceNamingFollowsCloudTpu) {
  // v2/v3/v4/v5p count TensorCores; v5e/v6e count chips. A bare generation is one host.
  DeviceSlice s = resolve_slice("v3");
  EXPECT_EQ(s.name, "tpu:v3-8");
  EXPECT_EQ(s.chips, 4);
  EXPECT_EQ(s.cores, 8);
  EXPECT_EQ(s.hosts, 1);
  EXPECT_EQ(s.label, "TPU v3-8");
  s = resolve_slice("v3-32");
  EXPECT_EQ(s.chips, 16);
  EXPECT_EQ(s.hosts, 4);
  s = resolve_slice("v5e-4");
  EXPECT_EQ(s.chips, 4);
  EXPECT_EQ(s.cores, 4);
  EXPECT_EQ(resolve_slice("v5e").name, "tpu:v5e-8");
  EXPECT_EQ(resolve_slice("v5p").name, "tpu:v5p-8");
  EXPECT_EQ(resolve_slice("v5p-8").chips, 4);
  EXPECT_EQ(resolve_slice("v4-8").chips, 4);
  EXPECT_EQ(resolve_slice("v6e-8").cores, 8);
  EXPECT_THROW(resolve_slice("v3-7"), InputError);   // half a chip
  EXPECT_THROW(resolve_slice("v3-x"), InputError);
  EXPECT_THROW(resolve_slice("v9"), InputError);
  const auto b = make_tpu_backend("v3-8", false);
  EXPECT_EQ(b->name(), "tpu:v3-8");
  EXPECT_TRUE(b->simulated());
  EXPECT_EQ(b->platform().platform, "tpu");
  EXPECT_EQ(b->platform().device_name, "TPU v3-8 (simulated)");
}

TEST(DeviceSpec, UserSpecFileAndEnvironmentOverride) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "paradnn_tpu_spec_test";
  std::filesystem::create_directories(dir);
  std::string text = spec_text("v5e");
  text.replace(text.find("generation: v5e"), 15, "generation: v9x");
  std::ofstream(dir / "v9x.yaml") << text;
  const auto b = make_tpu_backend((dir / "v9x.yaml").string(), false);
  EXPECT_EQ(b->name(), "tpu:" + (dir / "v9x.yaml").string());
  setenv("PARADNN_TPU_SPECS", dir.c_str(), 1);
  EXPECT_EQ(resolve_slice("v9x-4").chips, 4);
  unsetenv("PARADNN_TPU_SPECS");
  std::filesystem::remove_all(dir);
}

TEST(DeviceSpec, MissingOrWrongFieldNamesFileLineAndKey) {
  std::string text = spec_text("v3");
  // Missing: drop the clock line.
  std::string missing = text;
  const size_t at = missing.find("clock_hz:");
  missing.erase(at, missing.find('\n', at) - at + 1);
  try {
    parse_spec(missing, "my.yaml");
    FAIL() << "no error for a missing key";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("my.yaml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing key 'clock_hz'"), std::string::npos) << e.what();
  }
  // Wrong type: text where an integer belongs, on a known line.
  std::string wrong = text;
  const size_t pos = wrong.find("mxus_per_tensorcore: 2");
  wrong.replace(pos, 22, "mxus_per_tensorcore: two");
  const int line = 1 + static_cast<int>(std::count(wrong.begin(), wrong.begin() + static_cast<long>(pos), '\n'));
  try {
    parse_spec(wrong, "my.yaml");
    FAIL() << "no error for a wrong type";
  } catch (const InputError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("my.yaml:" + std::to_string(line) + ":"), std::string::npos) << w;
    EXPECT_NE(w.find("'mxus_per_tensorcore'"), std::string::npos) << w;
    EXPECT_NE(w.find("'two'"), std::string::npos) << w;
  }
  // A fractional count is a wrong type too; a bad unit is named.
  std::string frac = text;
  frac.replace(frac.find("chips_per_host: 4"), 17, "chips_per_host: 2.5");
  EXPECT_THROW(parse_spec(frac, "my.yaml"), InputError);
  std::string unit = text;
  unit.replace(unit.find("slice_counts: tensorcores"), 25, "slice_counts: boards");
  EXPECT_THROW(parse_spec(unit, "my.yaml"), InputError);
  EXPECT_THROW(parse_spec("[1, 2]", "my.yaml"), InputError);
}

// ParaDnn (Wang, Wei, Brooks 2019) on Cloud TPU v2-8, 180 TFLOP/s bf16: the best FC model,
// 4 layers of 8192 nodes, input 8000, batch 16384, reached about 116 TFLOP/s (64% of peak).
TEST(TpuParaDnnFacts, BigFcOnV2IsMatrixUnitBoundNearPublishedUtilization) {
  const Graph g = paradnn_fc(8192, 16384);
  const StepPrediction p = predict(g, "v2-8");
  const double util = p.flops_per_s() / 180e12;
  EXPECT_GT(util, 0.40);
  EXPECT_LT(util, 0.85);
  EXPECT_EQ(p.bound, Ceiling::matrix_unit);
  // v3-8 is faster on the same point, and fits it too.
  const StepPrediction p3 = predict(g, "v3-8");
  EXPECT_LT(p3.step_s, p.step_s);
  EXPECT_FALSE(check_memory(g, Mode::train, resolve_slice("v2-8")).reason.has_value());
}

TEST(TpuParaDnnFacts, SmallWidthFcAtLargeBatchIsInfeedBound) {
  const StepPrediction p = predict(paradnn_fc(32, 16384), "v2-8");
  EXPECT_EQ(p.bound, Ceiling::infeed);
  EXPECT_GT(p.infeed_s, 2 * p.device_s);
}

TEST(TpuParaDnnFacts, LargeFcAtSmallBatchIsBoundByPerParameterCosts) {
  const StepPrediction p = predict(paradnn_fc(8192, 64), "v2-8");
  const Ceiling b = p.bound;
  EXPECT_TRUE(b == Ceiling::all_reduce || b == Ceiling::hbm || b == Ceiling::overhead) << to_string(b);
  // Update and all-reduce together outweigh the forward and backward work.
  EXPECT_GT(p.update_s + p.all_reduce_s, p.compute_s);
}

TEST(TpuParaDnnFacts, TinyModelHitsTheStepFloor) {
  const StepPrediction p = predict(fc(4, 32, 2000, 200, 64), "v2-8");
  EXPECT_EQ(p.bound, Ceiling::overhead);
  EXPECT_NEAR(p.step_s, 0.003, 0.001);  // "a few milliseconds" under TPUEstimator
}

TEST(TpuBackend, PredictionIsNeverATimingSource) {
  const auto b = make_tpu_backend("v3-8", false);
  const Graph g = fc(2, 256, 2000, 200, 64);
  const auto exe = b->prepare(g, Mode::train, {});
  ASSERT_EQ(exe->clock(), Clock::model);
  EXPECT_GT(exe->step_seconds(), 0);
  EXPECT_FALSE(exe->bound().empty());
  // Per-op rows name their ceiling and add up to the predicted step.
  double sum = 0;
  for (const OpTime& t : exe->profile(1)) {
    EXPECT_FALSE(t.bound.empty()) << t.name;
    sum += t.seconds;
  }
  EXPECT_NEAR(sum, exe->step_seconds(), 1e-12);
}

TEST(TpuBackend, RefusesDtypesTpusLack) {
  const auto v2 = make_tpu_backend("v2-8", false);
  const auto v5e = make_tpu_backend("v5e-8", false);
  const Graph f16 = fc(2, 256, 2000, 200, 64, DType::f16);
  ASSERT_TRUE(v2->cannot_run(f16, Mode::train).has_value());
  EXPECT_NE(v2->cannot_run(f16, Mode::train)->find("f16"), std::string::npos);
  const Graph i8 = fc(2, 256, 2000, 200, 64, DType::int8, Mode::infer);
  EXPECT_TRUE(v2->cannot_run(i8, Mode::infer).has_value());
  EXPECT_FALSE(v5e->cannot_run(i8, Mode::infer).has_value());
  EXPECT_TRUE(v5e->cannot_run(i8, Mode::train).has_value());
  EXPECT_FALSE(v2->cannot_run(fc(2, 256, 2000, 200, 64, DType::f32), Mode::train).has_value());
  // A batch smaller than the slice cannot be split.
  EXPECT_TRUE(v2->cannot_run(fc(2, 256, 2000, 200, 4), Mode::train).has_value());
}

TEST(TpuBackend, QuickSweepPredictsEveryPointOrSaysWhy) {
  const Config c = load_config(std::string(PARADNN_SOURCE_DIR) + "/configs/quick.yaml", models::catalog());
  for (const std::string slice : {"v3-8", "v5e-8"}) {
    const auto b = make_tpu_backend(slice, false);
    int ok = 0;
    for (const GridEntry& e : expand(c, models::catalog())) {
      const Graph g = build_graph(e.point, models::catalog());
      if (const auto why = b->cannot_run(g, e.point.mode)) {
        EXPECT_FALSE(why->empty());
        continue;
      }
      const auto exe = b->prepare(g, e.point.mode, {});
      ASSERT_EQ(exe->clock(), Clock::model) << e.point.key();
      EXPECT_GT(exe->step_seconds(), 0) << e.point.key();
      ++ok;
    }
    EXPECT_GT(ok, 0) << slice;
  }
}

TEST(TpuModel, CnnAndRnnPredictions) {
  const StepPrediction c = predict(build_graph(defaults("cnn", 256), models::catalog()), "v3-8");
  EXPECT_GT(c.step_s, 0);
  // RNN: per-step GEMMs of 32 rows per core waste the MXU; matrix time exceeds useful/peak.
  const Graph rg = build_graph(defaults("rnn", 256), models::catalog());
  const StepPrediction r = predict(rg, "v3-8");
  double matrix = 0;
  for (const OpPrediction& o : r.ops)
    if (o.op >= 0 && rg.op(o.op).kind == OpKind::rnn) matrix += o.t.matrix;
  const Op* cell = nullptr;
  for (const Op& o : rg.ops)
    if (o.kind == OpKind::rnn) cell = &o;
  ASSERT_NE(cell, nullptr);
  const double useful = (cell->cost.fwd_flops + cell->cost.bwd_data_flops + cell->cost.bwd_weight_flops) / 8 / (123e12 / 2);
  EXPECT_GT(matrix, 4 * useful);
}

TEST(TpuHost, Bf16RoundingAndMeasuredRate) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  // 1 + 3 * 2^-8 is halfway too: rounds up to the even neighbour.
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);
  EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 128) , 0x3f81);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()) & 0x7fc0, 0x7fc0);
  const HostInfeed h = measure_host_infeed(size_t{4} << 20, 2, 2);
  EXPECT_GT(h.bytes_per_s, 1e7);  // any real machine stages more than 10 MB/s
  EXPECT_NE(h.describe().find("measured on this host"), std::string::npos);
  const auto b = make_tpu_backend("v3-8", true);
  EXPECT_NE(b->platform().versions.at("host_infeed").find("measured"), std::string::npos);
}

TEST(CpuRoofline, TheStepModelOnMeasuredCeilings) {
  PlatformFile f;
  f.compute = {{"f32", 1, 1e11, 0, "fma_kernel"}, {"f32", 2, 2e11, 0, "fma_kernel"}};
  f.bandwidth = {{"L1", 2, 1e12, 0, 1e4, "triad"}, {"DRAM", 2, 1e10, 0, 1e9, "triad"}};
  const Graph g = fc(2, 256, 2000, 200, 64, DType::f32);
  // Bounded by the roofline: at least the whole step's FLOPs at the peak, at most every op's
  // compute and memory time added (no overlap, no fusion).
  double flops = 0, serial = 0;
  for (const Op& op : g.ops) {
    flops += op.cost.flops(Mode::train);
    serial += op.cost.flops(Mode::train) / 2e11 + op.cost.bytes(Mode::train) / 1e10;
  }
  const double t = predict_step_seconds_on_cpu(g, Mode::train, f);
  EXPECT_GE(t, flops / 2e11 * (1 - 1e-9));
  EXPECT_LE(t, serial);
  // The thread count picks its ceilings; a slower ceiling never makes the step faster.
  EXPECT_GT(predict_step_seconds_on_cpu(g, Mode::train, f, 1), t);
  PlatformFile slow_memory = f;
  slow_memory.bandwidth[1].bytes_per_s = 1e9;
  EXPECT_GT(predict_step_seconds_on_cpu(g, Mode::train, slow_memory), t);
  const auto one = roofline_ceilings(f, DType::f32, 1);
  ASSERT_TRUE(one.has_value());
  EXPECT_DOUBLE_EQ(one->peak_flops, 1e11);
  EXPECT_THROW(predict_step_seconds_on_cpu(g, Mode::train, PlatformFile{}), InputError);
}

// Prints the figures the README and the closing note quote (not an assertion).
TEST(TpuParaDnnFacts, ReportFigures) {
  struct Case { const char* what; Graph g; const char* slice; double peak; };
  const Case cases[] = {
      {"FC l4 n8192 i8000 o1000 b16384", paradnn_fc(8192, 16384), "v2-8", 180e12},
      {"FC l4 n8192 i8000 o1000 b16384", paradnn_fc(8192, 16384), "v3-8", 492e12},
      {"FC l4 n32 i8000 o1000 b16384", paradnn_fc(32, 16384), "v2-8", 180e12},
      {"FC l4 n32 i8000 o1000 b16384", paradnn_fc(32, 16384), "v3-8", 492e12},
      {"FC l4 n8192 i8000 o1000 b64", paradnn_fc(8192, 64), "v2-8", 180e12},
      {"FC l4 n8192 i8000 o1000 b16384", paradnn_fc(8192, 16384), "v4-8", 1100e12},
      {"FC l4 n8192 i8000 o1000 b16384", paradnn_fc(8192, 16384), "v5e-8", 1576e12},
      {"FC l4 n8192 i8000 o1000 b16384", paradnn_fc(8192, 16384), "v5p-8", 1836e12},
      {"FC l4 n8192 i8000 o1000 b16384", paradnn_fc(8192, 16384), "v6e-8", 7344e12},
  };
  for (const Case& c : cases) {
    const StepPrediction p = predict(c.g, c.slice);
    std::printf("%-34s %-6s step %8.3f ms  %7.1f TFLOP/s  %4.0f%% of peak  bound %-11s (device %.3f ms, infeed %.3f ms, "
                "update %.3f ms, all-reduce %.3f ms)\n",
                c.what, c.slice, p.step_s * 1e3, p.flops_per_s() / 1e12, 100 * p.flops_per_s() / c.peak,
                std::string(to_string(p.bound)).c_str(), p.device_s * 1e3, p.infeed_s * 1e3, p.update_s * 1e3,
                p.all_reduce_s * 1e3);
  }
}
