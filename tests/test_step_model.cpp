// The step model shared by TPU, GPU and CPU: GPU wave lowering, the stack terms' qualitative
// behaviour (never above a peak, monotone where they should be), the host's infeed format,
// gradients applied as they complete, and `model-error --published` on a small published table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "paradnn/grid.hpp"
#include "platforms/model/matrix_unit.hpp"
#include "platforms/model/step_model.hpp"
#include "platforms/registry.hpp"
#include "runners/drivers/published_error.hpp"

using namespace paradnn;
using namespace paradnn::model;

namespace {

Graph fc(int64_t layers, int64_t nodes, int64_t input, int64_t output, int64_t batch, DType dt) {
  Point p;
  p.family = "fc";
  for (const FamilySpec& f : models::catalog())
    if (f.name == "fc")
      for (const ParamSpec& s : f.params) p.hp[s.name] = s.default_value;
  p.hp["layers"] = layers;
  p.hp["nodes"] = nodes;
  p.hp["input"] = input;
  p.hp["output"] = output;
  p.batch = batch;
  p.dtype = dt;
  p.optimizer = Optimizer::rmsprop;
  return build_graph(p, models::catalog());
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (std::to_string(getpid()) + "_" + name)).string();
}

}  // namespace

TEST(GpuModel, ShippedSpecsLoadWithTheirTensorCoreModes) {
  for (const std::string name : {"v100", "a100", "h100", "h200"}) {
    const DeviceSlice s = resolve_gpu(name);
    EXPECT_EQ(s.spec.kind, DeviceKind::gpu) << name;
    EXPECT_EQ(s.cores, 1) << name;
    EXPECT_EQ(s.name, "gpu-model:" + name);
    EXPECT_GT(s.spec.matrix_peak_per_core(DType::f16), 10 * s.spec.matrix_peak_per_core(DType::f32) / 2) << name;
    EXPECT_LE(s.spec.stack.matrix_efficiency, 1.0) << name;
  }
  EXPECT_EQ(resolve_gpu("v100").spec.matrix_peak_per_core(DType::bf16), 0);  // Volta has no bf16
  EXPECT_GT(resolve_gpu("a100").spec.matrix_peak_per_core(DType::bf16), 0);
  EXPECT_THROW(resolve_gpu("v2"), InputError);      // a TPU spec
  EXPECT_THROW(resolve_slice("v100"), InputError);  // a GPU spec
  EXPECT_THROW(resolve_gpu("k80"), InputError);
  // The backend refuses what the device lacks, with the modes it has.
  const auto b = make_backend("gpu-model:v100");
  const auto why = b->cannot_run(fc(2, 64, 100, 10, 64, DType::bf16), Mode::train);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("no bf16"), std::string::npos) << *why;
  EXPECT_FALSE(b->cannot_run(fc(2, 64, 100, 10, 64, DType::f16), Mode::train).has_value());
}

TEST(GpuModel, GemmsRunInWholeWavesOverTheSms) {
  const DeviceSpec v100 = resolve_gpu("v100").spec;  // 80 SMs, 128 x 128 tiles
  EXPECT_EQ(pad_gemm({128 * 80, 512, 128}, DType::f16, v100).waves, 1);
  EXPECT_EQ(pad_gemm({128 * 81, 512, 128}, DType::f16, v100).waves, 2);  // one tile more: a second wave
  EXPECT_NEAR(matrix_seconds({128 * 81, 512, 128}, DType::f16, v100) / matrix_seconds({128 * 80, 512, 128}, DType::f16, v100),
              2.0, 1e-12);
  // A partial tile costs a whole one.
  EXPECT_DOUBLE_EQ(matrix_seconds({1, 512, 128}, DType::f16, v100), matrix_seconds({128, 512, 128}, DType::f16, v100));
}

// Whatever the shape, the matrix unit never runs faster than its peak times the stack's
// achieved fraction, and a GEMM with more rows never takes less time.
TEST(StepModel, MatrixTimeIsBoundedByPeakAndMonotoneInOccupancy) {
  for (const DeviceSlice& d : {resolve_slice("v2-8"), resolve_gpu("v100"), resolve_gpu("h100")}) {
    const DType t = d.spec.kind == DeviceKind::gpu ? DType::f16 : DType::bf16;
    const double ceiling = matrix_peak(t, d.spec) * d.spec.stack.matrix_efficiency;
    double previous = 0;
    for (int64_t m = 1; m <= 20000; m = m * 3 / 2 + 1) {
      const Gemm g{m, 1000, 700};
      const double s = matrix_seconds(g, t, d.spec);
      EXPECT_LE(g.flops() / s, ceiling * (1 + 1e-9)) << d.name << " m=" << m;
      EXPECT_GE(s, previous) << d.name << " m=" << m;
      previous = s;
    }
    // Occupancy: aligned large GEMMs approach the ceiling.
    const Gemm big{8192, 8192, 8192};
    EXPECT_GT(big.flops() / matrix_seconds(big, t, d.spec), 0.95 * ceiling) << d.name;
  }
}

TEST(StepModel, StackTermsOnlyEverSlowAStepDown) {
  const Graph g = fc(8, 1024, 2000, 1000, 512, DType::bf16);
  const DeviceSlice base = resolve_slice("v2-8");
  const double t0 = predict_step(g, Mode::train, base, base.spec.stack.host_infeed_bytes_per_s).step_s;
  // Each term at its ideal value (full efficiency, no latency, no dispatch, no overhead)
  // gives a faster or equal step; the fitted values only add time.
  const auto with = [&](auto change) {
    DeviceSlice d = base;
    change(d.spec.stack);
    return predict_step(g, Mode::train, d, d.spec.stack.host_infeed_bytes_per_s).step_s;
  };
  EXPECT_LE(with([](StackTerms& s) { s.matrix_efficiency = 1; }), t0);
  EXPECT_LE(with([](StackTerms& s) { s.all_reduce_efficiency = 1; }), t0);
  EXPECT_LE(with([](StackTerms& s) { s.all_reduce_latency_s = 0; }), t0);
  EXPECT_LE(with([](StackTerms& s) { s.step_overhead_s = 0; }), t0);
  EXPECT_LT(with([](StackTerms& s) { s.op_dispatch_s = 1e-3; }), 1e9);
  EXPECT_GT(with([](StackTerms& s) { s.op_dispatch_s = 1e-3; }), t0);  // a slow launcher shows
  // The all-reduce: one latency per gradient tensor per ring step, bandwidth over the rest.
  EXPECT_GT(all_reduce_seconds(1e6, 100, base), all_reduce_seconds(1e6, 1, base));
  EXPECT_NEAR(all_reduce_seconds(1e9, 1, base) / all_reduce_seconds(2e9, 1, base), 0.5, 0.01);
}

TEST(StepModel, HostFeedsF32FeaturesAndOneHotLabels) {
  const Graph g = fc(4, 64, 2000, 200, 128, DType::bf16);
  EXPECT_DOUBLE_EQ(infeed_bytes(g), 128.0 * (2000 + 200) * 4);
}

// ParaDnn ran 8 x 8192 nodes with input 8000 on a v2-8 (8 GiB of HBM per TensorCore): f32
// weights and two RMSProp slots fit; a gradient buffer for every layer at once would not.
TEST(StepModel, GradientsAreAppliedAsTheyCompleteSoTheLargestPublishedFcFits) {
  const Graph g = fc(8, 8192, 8000, 1000, 64, DType::bf16);
  const MemoryFit f = check_memory(g, Mode::train, resolve_slice("v2-8"));
  EXPECT_FALSE(f.reason.has_value()) << *f.reason;
  EXPECT_LT(f.per_core_bytes, f.capacity_bytes);
  // Twice the layers do not fit.
  EXPECT_TRUE(check_memory(fc(16, 8192, 8000, 1000, 64, DType::bf16), Mode::train, resolve_slice("v2-8")).reason);
}

TEST(PublishedError, SummarisesAPublishedTableByBoundAndHyperparameter) {
  const std::string csv = temp_path("published.csv"), out = temp_path("published.model-error.csv");
  {
    std::ofstream f(csv);
    // Four rows of the calibration half ParaDnn published (../shared/calibration), copied so
    // the test needs nothing outside the tree.
    f << "platform,layers,nodes,input,output,batch,params,examples_per_s\n"
         "tpu-v2-8core-bf16,4,32,8000,1000,16384,292200.0,158111.49824\n"
         "tpu-v2-8core-bf16,4,8192,8000,1000,64,275090000.0,628.10944\n"
         "tpu-v2-8core-bf16,4,8192,2000,200,16384,219380000.0,81667.03104\n"
         "v100,4,32,2000,1000,128,100200.0,28772.48\n";
  }
  PublishedErrorOptions o;
  o.published = csv;
  o.backend = "tpu:v2-8";
  o.output = out;
  o.force = true;
  o.plot = false;
  const PublishedErrorSummary s = run_published_error(o);
  EXPECT_EQ(s.rows, "tpu-v2-8");
  EXPECT_EQ(s.dtype, "bf16");
  EXPECT_EQ(s.all.points, 3u);  // the V100 row is another platform's
  EXPECT_EQ(s.refused, 0u);
  EXPECT_EQ(s.by_hyperparameter.at("nodes").size(), 2u);
  EXPECT_EQ(s.by_hyperparameter.at("batch").at(16384).points, 2u);
  size_t by_bound = 0;
  for (const auto& [b, e] : s.by_bound) by_bound += e.points;
  EXPECT_EQ(by_bound, 3u);
  EXPECT_GE(s.all.p90, s.all.median);
  // These three published figures are within 25% of the calibrated model.
  EXPECT_LT(s.all.p90, 0.25);
  // The GPU rows through the GPU model, in f16 (the V100 has no bf16).
  o.backend = "gpu-model:v100";
  const PublishedErrorSummary g = run_published_error(o);
  EXPECT_EQ(g.rows, "v100");
  EXPECT_EQ(g.dtype, "f16");
  EXPECT_EQ(g.all.points, 1u);
  // A label no row has is an error that lists the labels there are.
  o.rows = "tpu-v3";
  try {
    run_published_error(o);
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tpu-v2-8core-bf16"), std::string::npos) << e.what();
  }
  std::remove(csv.c_str());
  std::remove(out.c_str());
  std::remove((out.substr(0, out.size() - 4) + ".manifest.yaml").c_str());
}

TEST(ErrorStats, MedianAndP90OfAbsoluteRelativeError) {
  const ErrorStats e = error_stats({1.0, 1.1, 0.8, 2.0, 1.05});
  EXPECT_NEAR(e.median, 0.1, 1e-12);  // |e| = 0, .1, .2, 1, .05
  EXPECT_NEAR(e.median_ratio, 1.05, 1e-12);
  EXPECT_GT(e.p90, 0.2);
  EXPECT_EQ(e.points, 5u);
  // (predicted, measured) (1.1, 1.0), (0.5, 1.0), (2.0, 2.0): |error| 0.1, 0.5, 0.
  EXPECT_NEAR(error_stats({1.1 / 1.0, 0.5 / 1.0, 2.0 / 2.0}).median, 0.1, 1e-12);
}
