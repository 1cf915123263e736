#include "platforms/cpu/lowp/hadamard4_bench.hpp"

#include <fmt/core.h>

#include <cmath>
#include <random>

#include "platforms/cpu/lowp/float_gemm.hpp"
#include "platforms/cpu/lowp/lowp_bench.hpp"
#include "platforms/cpu/lowp/hadamard4.hpp"
#include "platforms/cpu/lowp/int_gemm.hpp"

namespace paradnn::cpu::lowp {

namespace {

constexpr int kBlock = 32;

// m x k times k x n.
void speed_rows(int m, int n, int k, const std::function<void(const LowpRow&)>& add, const LowpTimer& timer) {
  const std::string shape = fmt::format("gemm {}x{}x{} (m x n x k)", m, n, k);
  const double flops = 2.0 * m * n * k, nan = std::nan("");
  const std::vector<float> a = gaussian(size_t(m) * k, 31), b = gaussian(size_t(k) * n, 32);
  std::vector<float> ref(size_t(m) * n), c(ref.size());
  const FloatGemmArgs fg{false, false, m, n, k, k, n, n};
  sgemm(fg, a.data(), b.data(), ref.data());
  auto timed = [&](std::string kernel, std::string dtype, std::string isa, const std::function<void()>& work, std::string note,
                   double error) {
    LowpRow r{kernel, dtype, shape, isa, timer(kernel + " " + dtype + " " + shape, work), flops, "", error, note, false};
    if (!std::isnan(error)) r.metric = "rel_error";
    add(r);
  };
  timed("gemm", "f32", "onednn", [&] { sgemm(fg, a.data(), b.data(), c.data()); }, "dnnl_sgemm", nan);
  if (const auto why = bf16_unavailable()) {
    add({"gemm", "bf16", shape, "", {}, flops, "", nan, *why, true});
  } else {
    Bf16Gemm bf;
    std::vector<uint16_t> a16(a.size()), b16(b.size());
    to_bf16(a.data(), a.size(), a16.data());
    to_bf16(b.data(), b.size(), b16.data());
    bf.run_bf16(fg, a16.data(), b16.data(), c.data());
    timed("gemm", "bf16", "onednn", [&] { bf.run_bf16(fg, a16.data(), b16.data(), c.data()); },
          "oneDNN matmul " + bf.kernel() + ", operands already bf16", relative_error(c, ref));
    timed("gemm_with_convert", "bf16", "onednn", [&] { bf.run(fg, a.data(), b.data(), c.data()); },
          "f32 operands converted to bf16, then the matmul", nan);
  }
  const IntIsa best = detected_int_isa();
  {
    Hadamard4Gemm h(kBlock, best, false);
    h.run(false, false, m, n, k, a.data(), b.data(), c.data());
    const double err = relative_error(c, ref);
    const int t = h.stats().tile_steps;
    timed("hadamard4_gemm", "s4", s4_kernel_name(best), [&] { h.run(false, false, m, n, k, a.data(), b.data(), c.data()); },
          fmt::format("whole: f32 copy + block-{} FWHT of both + per-row/col 4-bit RTN + nibble packing + int8-tile product "
                      "(T={}) + scale back",
                      kBlock, t),
          err);
    Hadamard4Gemm hs(kBlock, best, false);
    hs.run(false, false, m, n, k, a.data(), b.data(), c.data(), Rounding::nearest, Rounding::stochastic, 9);
    timed("hadamard4_gemm_sr", "s4", s4_kernel_name(best),
          [&] { hs.run(false, false, m, n, k, a.data(), b.data(), c.data(), Rounding::nearest, Rounding::stochastic, 9); },
          "whole, B stochastically rounded (as a gradient operand)", relative_error(c, ref));
  }
  // The int8-tile product alone (plus the f32 scaling back), on operands already prepared.
  for (const IntIsa isa : runnable_int_isas()) {
    if (isa == IntIsa::amx_int8 || isa == IntIsa::avx512bw || isa == IntIsa::scalar) continue;  // avx512_vnni runs the same kernel; scalar is for tests
    for (const bool checked : {false, true}) {
      Hadamard4Gemm h(kBlock, isa, checked);
      h.run(false, false, m, n, k, a.data(), b.data(), c.data());
      timed(checked ? "s4_tile_product_checked" : "s4_tile_product", "s4", s4_kernel_name(isa),
            [&] { h.run_s4_only(c.data()); },
            fmt::format("packed 4-bit operands ready: vpshufb products, int8 tiles of T={}, widen int16/int32, scale back; {}",
                        h.stats().tile_steps,
                        checked ? fmt::format("overflow check on: {} overflows", h.stats().overflows)
                                : std::string("overflow check off")),
            nan);
    }
  }
}

}  // namespace

IncrementalSetup incremental_setup(bool quick) {
  IncrementalSetup s;
  s.shape.input = 64;
  s.shape.hidden = 256;
  s.shape.hidden_layers = 2;
  s.shape.classes = 10;
  s.shape.batch = 128;
  s.separation = 5.0f;  // overlapping classes: f32 itself forgets, to about 85% after 5 stages
  s.task_seed = 3;
  s.schedule.stages = 5;
  s.schedule.steps_per_stage = quick ? 60 : 150;
  s.schedule.replay_per_class = 50;
  s.schedule.train_per_class = 500;
  s.schedule.learning_rate = 0.05f;
  s.schedule.eval_batches = 8;
  s.schedule.data_seed = 5000;
  return s;
}

void hadamard4_rows(bool quick, const std::function<void(const LowpRow&)>& add, const LowpTimer& timer) {
  speed_rows(128, 256, 256, add, timer);
  speed_rows(512, 1024, 1024, add, timer);

  const IncrementalSetup setup = incremental_setup(quick);
  const models::MixtureTask task(setup.shape.input, setup.shape.classes, setup.task_seed, setup.separation);
  const IncrementalSchedule& sc = setup.schedule;
  const std::string shape = fmt::format("{} {} stages x{} classes, {} steps each", setup.shape.str(), sc.stages,
                                        setup.shape.classes / sc.stages, sc.steps_per_stage);
  for (const Precision p : {Precision::f32, Precision::bf16, Precision::int16_dfp, Precision::hadamard4}) {
    if (p == Precision::bf16)
      if (const auto why = bf16_unavailable()) {
        add({"fc_incremental_eval", to_string(p), shape, "", {}, 0, "", std::nan(""), *why, true});
        continue;
      }
    const IncrementalResult r = train_class_incremental(task, setup.shape, p, sc, 7);
    std::string stages;
    for (const double acc : r.stage_accuracy) stages += fmt::format("{}{:.3f}", stages.empty() ? "" : " ", acc);
    std::string note = fmt::format("top-1 on held-out data of all classes after the last stage; after each stage: {}; replay {}/class; "
                                   "train {:.2f} s",
                                   stages, sc.replay_per_class, r.seconds);
    if (p == Precision::hadamard4) note += fmt::format("; int8 tile T={}, accumulator overflows {}", r.s4_tile_steps, r.s4_overflows);
    const std::string isa = p == Precision::f32 || p == Precision::bf16 ? "onednn"
                            : p == Precision::hadamard4                  ? s4_kernel_name(detected_int_isa())
                                                                         : to_string(vector_isa(detected_int_isa()));
    add({"fc_incremental_eval", to_string(p), shape, isa, {}, 0, "accuracy", r.final_accuracy, note, false});
  }
}

}  // namespace paradnn::cpu::lowp
