#include "platforms/cpu/lowp/lowp_bench.hpp"

#include <fmt/core.h>

#include <cmath>
#include <random>

#include "platforms/cpu/lowp/dfp_conv_bench.hpp"
#include "platforms/cpu/lowp/fc_trainer.hpp"
#include "platforms/cpu/lowp/float_gemm.hpp"
#include "platforms/cpu/lowp/hadamard.hpp"
#include "platforms/cpu/lowp/hadamard4.hpp"
#include "platforms/cpu/lowp/hadamard4_bench.hpp"
#include "platforms/cpu/lowp/int_gemm.hpp"

namespace paradnn::cpu::lowp {

namespace {

constexpr int kHadamardBlock = 32;


// Scales `count` seeded entries of x by `magnitude` (outliers, as in activations and gradients).
void add_outliers(std::vector<float>& x, int count, float magnitude, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, x.size() - 1);
  for (int i = 0; i < count; ++i) x[pick(rng)] *= magnitude;
}

template <typename T>
std::vector<T> small_ints(size_t n, int bound, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pick(-bound, bound);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(pick(rng));
  return v;
}

class Report {
 public:
  explicit Report(const LowpOptions& o) : options_(o) {}
  void add(LowpRow r) {
    if (options_.on_row) options_.on_row(r);
    rows_.push_back(std::move(r));
  }
  std::vector<LowpRow> rows() { return std::move(rows_); }

 private:
  const LowpOptions& options_;
  std::vector<LowpRow> rows_;
};

void gemm_rows(int n, Report& report, const LowpTimer& timer) {
  const IntIsa isa = vector_isa(detected_int_isa());  // GEMMs: amx_int8 runs them on avx512_vnni
  const std::string shape = fmt::format("gemm {}x{}x{}", n, n, n);
  const double flops = 2.0 * n * n * n;
  const size_t nn = size_t(n) * n;
  const std::vector<float> a = gaussian(nn, 11), b = gaussian(nn, 12);
  std::vector<float> ref(nn), c(nn);
  const FloatGemmArgs fg{false, false, n, n, n, n, n, n};
  sgemm(fg, a.data(), b.data(), ref.data());
  auto timed = [&](std::string kernel, std::string dtype, std::string isa_name, const std::function<void()>& work,
                   std::string note, double error) {
    LowpRow r{kernel, dtype, shape, isa_name, timer(kernel + " " + dtype, work), flops, "", error, note, false};
    if (!std::isnan(error)) r.metric = "rel_error";
    report.add(r);
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  timed("gemm", "f32", "onednn", [&] { sgemm(fg, a.data(), b.data(), c.data()); }, "dnnl_sgemm", nan);

  if (const auto why = bf16_unavailable()) {
    report.add({"gemm", "bf16", shape, "", {}, flops, "", nan, *why, true});
  } else {
    Bf16Gemm bf;
    std::vector<uint16_t> a16(nn), b16(nn);
    to_bf16(a.data(), nn, a16.data());
    to_bf16(b.data(), nn, b16.data());
    bf.run_bf16(fg, a16.data(), b16.data(), c.data());
    const double err = relative_error(c, ref);
    timed("gemm", "bf16", "onednn", [&] { bf.run_bf16(fg, a16.data(), b16.data(), c.data()); },
          "oneDNN matmul " + bf.kernel() + ", operands already bf16", err);
  }

  // Integer kernels on integer data: the throughput of the kernel alone (its exactness is tested).
  IntGemmArgs ig;
  ig.m = ig.n = ig.k = ig.lda = ig.ldb = ig.ldc = n;
  std::vector<int32_t> c32(nn);
  const auto a16 = small_ints<int16_t>(nn, 32767, 13), b16 = small_ints<int16_t>(nn, 32767, 14);
  timed("gemm", "int16", to_string(isa), [&] { gemm_s16s16s32(ig, a16.data(), b16.data(), c32.data(), isa); },
        "paradnn s16 x s16 -> s32 (intrinsics)", nan);
  const auto a8 = small_ints<int8_t>(nn, 127, 15), b8 = small_ints<int8_t>(nn, 127, 16);
  timed("gemm", "int8", to_string(isa), [&] { gemm_s8s8s32(ig, a8.data(), b8.data(), c32.data(), isa); },
        vector_isa(isa) == IntIsa::avx512_vnni ? "paradnn s8 x s8 -> s32, vpdpbusd with u8 shift" : "paradnn s8 x s8 -> s32, widened to int16",
        nan);

  // Whole Hadamard-domain products on Gaussian data: transform, quantize, int8 GEMM, scale back.
  for (const bool transform : {false, true}) {
    HadamardInt8Gemm h(kHadamardBlock, transform, isa);
    h.run(n, n, n, a.data(), b.data(), c.data());
    const double err = relative_error(c, ref);
    const std::string kernel = transform ? "hadamard_int8_gemm" : "int8_quant_gemm";
    const std::string what = transform ? fmt::format("block-{} FWHT + per-row/col int8 + s32 GEMM + scale back", kHadamardBlock)
                                       : "per-row/col int8 + s32 GEMM + scale back";
    timed(kernel, "int8", to_string(isa), [&] { h.run(n, n, n, a.data(), b.data(), c.data()); }, what, err);
  }
}

void outlier_rows(int n, Report& report) {
  const IntIsa isa = vector_isa(detected_int_isa());  // GEMMs: amx_int8 runs them on avx512_vnni
  const size_t nn = size_t(n) * n;
  const int count = std::max(1, int(nn / 1000));  // 0.1% of each operand's entries
  for (const float magnitude : {1.0f, 10.0f, 100.0f, 1000.0f}) {
    std::vector<float> a = gaussian(nn, 21), b = gaussian(nn, 22), ref(nn), c(nn);
    if (magnitude != 1.0f) {
      add_outliers(a, count, magnitude, 23);
      add_outliers(b, count, magnitude, 24);
    }
    sgemm({false, false, n, n, n, n, n, n}, a.data(), b.data(), ref.data());
    for (const bool transform : {false, true}) {
      HadamardInt8Gemm h(kHadamardBlock, transform, isa);
      h.run(n, n, n, a.data(), b.data(), c.data());
      report.add({transform ? "hadamard_int8_gemm" : "int8_quant_gemm", "int8",
                  fmt::format("gemm {}x{}x{} outliers x{:g}", n, n, n, magnitude), to_string(isa), {}, 0, "rel_error",
                  relative_error(c, ref),
                  fmt::format("{} of {} entries of A and of B scaled by {:g}; error vs f32 product", count, nn, magnitude),
                  false});
    }
  }
}

void training_rows(bool quick, Report& report, const LowpTimer& timer) {
  FcShape shape;
  shape.input = 256;
  shape.hidden = quick ? 512 : 1024;
  shape.hidden_layers = 2;
  shape.classes = 16;
  shape.batch = quick ? 128 : 256;
  // Centres ~5.7 noise deviations apart: the classes overlap, so the curve is not flat after a few steps.
  const models::MixtureTask task(shape.input, shape.classes, 1, 5.66f);
  const int steps = quick ? 60 : 200, every = quick ? 10 : 20, dataset_batches = 16;
  std::vector<Batch> data;
  for (int i = 0; i < dataset_batches; ++i) data.push_back(draw_batch(task, shape.batch, 100 + i));
  const Batch held_out = draw_batch(task, shape.batch, 999);
  const float lr = 0.05f;
  const std::string isa = to_string(vector_isa(detected_int_isa()));
  for (const Precision p : {Precision::f32, Precision::bf16, Precision::int16_dfp, Precision::hadamard4}) {
    const std::string dtype = to_string(p);
    const std::string kernel_isa = p == Precision::int16_dfp ? isa : p == Precision::hadamard4 ? s4_kernel_name(detected_int_isa()) : "onednn";
    if (p == Precision::bf16) {
      if (const auto why = bf16_unavailable()) {
        report.add({"fc_train_step", dtype, shape.str(), "", {}, 0, "", std::nan(""), *why, true});
        continue;
      }
    }
    FcTrainer curve(shape, p, 7, lr);
    double last_loss = 0;
    for (int s = 0; s <= steps; ++s) {
      const double loss = last_loss = curve.step(data[s % dataset_batches]);
      if (s % every == 0)
        report.add({"fc_train_loss", dtype, fmt::format("{} step {}", shape.str(), s), kernel_isa, {}, 0, "loss", loss,
                    "training loss of the step's batch (seeded Gaussian mixture, SGD lr 0.05)", false});
    }
    report.add({"fc_train_eval", dtype, fmt::format("{} step {}", shape.str(), steps), kernel_isa, {}, 0, "accuracy",
                curve.accuracy(held_out), "top-1 on a held-out batch", false});
    FcTrainer timed(shape, p, 7, lr);
    report.add({"fc_train_step", dtype, shape.str(), kernel_isa,
                timer("fc_train_step " + dtype, [&] { timed.step(data[0]); }), timed.gemm_flops_per_step(), "loss", last_loss,
                fmt::format("forward + backward-data + backward-weights + SGD; FLOPs of the products only; loss after {} steps", steps), false});
  }
}

}  // namespace

std::vector<float> gaussian(size_t n, uint64_t seed, float sd) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

double relative_error(const std::vector<float>& c, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    num += (double(c[i]) - ref[i]) * (double(c[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

std::vector<LowpRow> run_lowp_benchmarks(const LowpOptions& options, const LowpTimer& timer) {
  Report report(options);
  gemm_rows(options.quick ? 512 : 1024, report, timer);
  outlier_rows(options.quick ? 256 : 512, report);
  training_rows(options.quick, report, timer);
  // Hadamard-domain 4-bit: matmul speed vs f32/bf16, class-incremental accuracies (hadamard4_bench.hpp).
  hadamard4_rows(options.quick, [&report](const LowpRow& r) { report.add(r); }, timer);
  // INT16 DFP convolution fwd / bwd-data / bwd-weights vs oneDNN f32 (dfp_conv_bench.hpp).
  dfp_conv_rows(dfp_conv_bench_shapes(options.quick), [&report](const LowpRow& r) { report.add(r); }, timer);
  return report.rows();
}

}  // namespace paradnn::cpu::lowp
