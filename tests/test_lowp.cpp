// Low-precision training kernels: integer GEMMs against an exact integer reference, the
// Hadamard transform's orthogonality and its int8 GEMM's error, DFP round trips, and INT16
// DFP training on the learnable Gaussian-mixture task.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "platforms/cpu/lowp/dfp.hpp"
#include "platforms/cpu/lowp/fc_trainer.hpp"
#include "platforms/cpu/lowp/float_gemm.hpp"
#include "platforms/cpu/lowp/hadamard.hpp"
#include "platforms/cpu/lowp/int_gemm.hpp"
#include "platforms/cpu/lowp/lowp_bench.hpp"
#include "tests/test_helpers.hpp"

namespace paradnn::cpu::lowp {
namespace {

// Odd shapes cross every block edge (MR 6, NR 32, KC 512, MC 24, NC 512, MS 1008) and odd k
// pads a pair/quad.
struct Case {
  bool ta, tb;
  int m, n, k;
};
const Case kCases[] = {{false, false, 1, 1, 1},     {false, false, 7, 33, 5},    {true, false, 73, 45, 300},
                       {false, true, 50, 520, 257}, {true, true, 13, 70, 513},   {false, false, 150, 600, 600},
                       {true, false, 1013, 530, 37}, {false, true, 1013, 40, 1030}};

template <typename T, typename Gemm, size_t N>
void check_exact(int lo, int hi, const Case (&cases)[N], Gemm gemm) {
  for (IntIsa isa : runnable_int_isas())
    for (const Case& c : cases) {
      IntGemmArgs g{c.ta, c.tb, c.m, c.n, c.k, c.ta ? c.m : c.k, c.tb ? c.k : c.n, c.n + 3};
      const auto a = random_ints<T>(size_t(c.m) * c.k, lo, hi, 1), b = random_ints<T>(size_t(c.k) * c.n, lo, hi, 2);
      std::vector<int64_t> ref(size_t(c.m) * c.n);
      reference_gemm(g, a.data(), b.data(), ref.data());
      std::vector<int32_t> out(size_t(c.m) * g.ldc, 0x5a5a5a5a);
      gemm(g, a.data(), b.data(), out.data(), isa);
      int nonzero = 0;
      for (int i = 0; i < c.m; ++i)
        for (int j = 0; j < c.n; ++j) {
          ASSERT_EQ(out[size_t(i) * g.ldc + j], ref[size_t(i) * c.n + j])
              << to_string(isa) << " " << c.m << "x" << c.n << "x" << c.k << " at " << i << "," << j;
          nonzero += ref[size_t(i) * c.n + j] != 0;
        }
      EXPECT_GT(nonzero, c.m * c.n / 2) << "a mostly-zero product would pass vacuously";
      EXPECT_EQ(out[size_t(c.m - 1) * g.ldc + c.n], 0x5a5a5a5a) << "wrote past the row";
    }
}

TEST(LowpIntGemm, Int16MatchesExactIntegerReference) {
  // Values whose k <= 600 products fit int32, then full scale (|x| <= 32767) with k <= 2
  // (2 * 32767^2 < 2^31; -32768 is excluded: DFP never produces it).
  check_exact<int16_t>(-2000, 2000, kCases, gemm_s16s16s32);
  const Case full_scale[] = {{false, false, 9, 40, 2}, {true, true, 7, 33, 1}, {false, true, 80, 70, 2}};
  check_exact<int16_t>(-32767, 32767, full_scale, gemm_s16s16s32);
}

TEST(LowpIntGemm, Int8MatchesExactIntegerReference) { check_exact<int8_t>(-128, 127, kCases, gemm_s8s8s32); }
// The f32-output kernel writes C itself (edge columns masked, later KC slices added): every
// block edge, on every ISA. |sum| <= 1030 * 100^2 < 2^24: exact in f32.
TEST(LowpIntGemm, DfpProductIsScaledIntegerProduct) {
  for (IntIsa isa : runnable_int_isas())
    for (const Case& c : kCases) {
      const IntGemmArgs g{c.ta, c.tb, c.m, c.n, c.k, c.ta ? c.m : c.k, c.tb ? c.k : c.n, c.n + 3};
      const auto a = random_ints<int16_t>(size_t(c.m) * c.k, -100, 100, 3), b = random_ints<int16_t>(size_t(c.k) * c.n, -100, 100, 4);
      std::vector<int64_t> ref(size_t(c.m) * c.n);
      reference_gemm(g, a.data(), b.data(), ref.data());
      std::vector<float> out(size_t(c.m) * g.ldc, -7.0f);
      gemm_s16s16f32(g, a.data(), b.data(), 0.25f, out.data(), isa);
      for (int i = 0; i < c.m; ++i)
        for (int j = 0; j < c.n; ++j)
          ASSERT_EQ(out[size_t(i) * g.ldc + j], 0.25f * float(ref[size_t(i) * c.n + j]))
              << to_string(isa) << " " << c.m << "x" << c.n << "x" << c.k << " at " << i << "," << j;
      EXPECT_EQ(out[size_t(c.m - 1) * g.ldc + c.n], -7.0f) << "wrote past the row";
    }
}

// Regression: the DFP product once kept 256 products per int32 sum, which wrapped for
// aligned full-scale operands (in training: the logits and the last layer's weight gradient,
// up to 2^33.4, turning the loss curve from 0.14 back up to 3.5). Operands of one sign at
// the DFP limits must give the exact product (f32 rounding only) on every ISA.
TEST(LowpIntGemm, DfpProductNeverOverflowsInt32) {
  const Case cases[] = {{false, false, 7, 40, 1024}, {true, false, 13, 33, 600}, {false, true, 6, 64, 257}};
  for (const int top : {kDfpGemmMax, kDfp16Max})
    for (IntIsa isa : runnable_int_isas())
      for (const Case& c : cases) {
        const IntGemmArgs g{c.ta, c.tb, c.m, c.n, c.k, c.ta ? c.m : c.k, c.tb ? c.k : c.n, c.n};
        const auto a = random_ints<int16_t>(size_t(c.m) * c.k, top - 50, top, 1);
        const auto b = random_ints<int16_t>(size_t(c.k) * c.n, -top, 50 - top, 2);
        std::vector<int64_t> ref(size_t(c.m) * c.n);
        reference_gemm(g, a.data(), b.data(), ref.data());
        ASSERT_LT(ref[0], -int64_t(1) << 31) << "not adversarial: the exact sum fits int32";
        std::vector<float> out(ref.size());
        gemm_s16s16f32(g, a.data(), b.data(), 0.5f, out.data(), isa);
        for (size_t i = 0; i < out.size(); ++i)
          ASSERT_NEAR(out[i], 0.5 * double(ref[i]), 1e-6 * std::fabs(0.5 * double(ref[i])))
              << to_string(isa) << " max " << top << " " << c.m << "x" << c.n << "x" << c.k << " at " << i;
      }
}

// The chain follows the data: small activations (or sparse gradients) convert to f32 once a
// k slice, a single full-scale run of 32 values in one row pulls every chain back to the
// worst case (8 pairs for a full-range activation times a 12-bit weight), and the product
// with that run against full-scale weights of the other sign (sum -2^32, far outside int32)
// stays exact, for op(A) stored either way.
TEST(LowpIntGemm, ChainsFollowTheActivationsAndNeverOverflow) {
  const int m = 5, n = 40, k = 1024;
  for (const bool ta : {false, true}) {
    const IntGemmArgs g{ta, false, m, n, k, ta ? m : k, n, n};
    auto a = random_ints<int16_t>(size_t(m) * k, -100, 100, 7);
    const auto at = [&](int i, int p) -> int16_t& { return ta ? a[size_t(p) * m + i] : a[size_t(i) * k + p]; };
    EXPECT_EQ(gemm_chain_groups(g, a.data(), kDfp16Max, kDfpGemmMax), 256) << "small activations: one chain a k slice";
    // The run fills the 16-value window 608-623 just within the limit (16 * 32767 * 4095 < 2^31),
    // and 24 of its values fall in the 32-value window 608-639, which passes it.
    for (int p = 600; p < 632; ++p) at(3, p) = kDfp16Max;
    EXPECT_EQ(gemm_chain_groups(g, a.data(), kDfp16Max, kDfpGemmMax), 8) << "a full-scale run: the worst case";
    const auto b = random_ints<int16_t>(size_t(k) * n, -kDfpGemmMax, 50 - kDfpGemmMax, 8);
    std::vector<int64_t> ref(size_t(m) * n);
    reference_gemm(g, a.data(), b.data(), ref.data());
    ASSERT_LT(ref[size_t(3) * n], -(int64_t(1) << 31)) << "not adversarial";
    for (IntIsa isa : runnable_int_isas()) {
      std::vector<float> out(ref.size());
      gemm_s16s16f32(g, a.data(), b.data(), 1.0f, out.data(), isa, kDfp16Max, kDfpGemmMax);
      for (size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], double(ref[i]), 1e-6 * std::fabs(double(ref[i])) + 1.0) << to_string(isa) << " ta " << ta << " at " << i;
    }
  }
}

TEST(LowpHadamard, MatrixIsOrthogonal) {
  for (int n : {1, 2, 32, 64}) {
    const std::vector<int> h = hadamard_matrix(n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        int dot = 0;
        for (int p = 0; p < n; ++p) dot += h[size_t(i) * n + p] * h[size_t(j) * n + p];
        ASSERT_EQ(dot, i == j ? n : 0) << "H H^T != nI for n=" << n;
      }
  }
}

TEST(LowpHadamard, FastTransformIsTheMatrixAndPreservesTheProduct) {
  const int block = 32, k = 64, m = 3, n = 5;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal;
  std::vector<float> a(m * k), b(k * n);
  for (float& x : a) x = normal(rng);
  for (float& x : b) x = normal(rng);
  std::vector<float> ha = a, hb = b;
  hadamard_rows(ha.data(), m, k, block);
  hadamard_cols(hb.data(), k, n, block);
  const std::vector<int> h = hadamard_matrix(block);
  const float norm = 1 / std::sqrt(float(block));
  for (int i = 0; i < m; ++i)
    for (int p = 0; p < k; ++p) {  // (A H)[i][p] with H block-diagonal
      double s = 0;
      for (int q = 0; q < block; ++q) s += a[i * k + (p / block) * block + q] * h[q * block + p % block] * norm;
      EXPECT_NEAR(ha[i * k + p], s, 1e-5);
    }
  std::vector<float> c(m * n), hc(m * n);
  sgemm({false, false, m, n, k, k, n, n}, a.data(), b.data(), c.data());
  sgemm({false, false, m, n, k, k, n, n}, ha.data(), hb.data(), hc.data());
  for (int i = 0; i < m * n; ++i) EXPECT_NEAR(hc[i], c[i], 1e-4);
}

TEST(LowpHadamard, Int8GemmMatchesF32WithinQuantizationError) {
  const int m = 64, n = 96, k = 256;
  std::mt19937_64 rng(6);
  std::normal_distribution<float> normal;
  std::vector<float> a(m * k), b(k * n), ref(m * n), c(m * n);
  for (float& x : a) x = normal(rng);
  for (float& x : b) x = normal(rng);
  sgemm({false, false, m, n, k, k, n, n}, a.data(), b.data(), ref.data());
  for (bool transform : {false, true}) {
    HadamardInt8Gemm h(32, transform, detected_int_isa());
    h.run(m, n, k, a.data(), b.data(), c.data());
    // Rounding to step s = max/127 has variance s^2/12 per operand entry; for Gaussian rows of
    // length k, max ~ 3-4 sigma, so each operand's relative error is ~ 3.5 / 127 / sqrt(3) = 1.6%
    // and the product's about sqrt(2) of that: 2.3%. Bound at 4%, and not implausibly small.
    const double err = relative_error(c, ref);
    EXPECT_LT(err, 0.04) << "transform " << transform;
    EXPECT_GT(err, 1e-4) << "int8 cannot be this exact; is the quantization running?";
  }
}

TEST(LowpHadamard, TransformReducesErrorUnderOutliers) {
  const int m = 64, n = 64, k = 256;
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> a(m * k), b(k * n), ref(m * n), plain(m * n), rotated(m * n);
  for (float& x : a) x = normal(rng);
  for (float& x : b) x = normal(rng);
  for (int i = 0; i < m; i += 4) a[i * k + (i * 7) % k] *= 100;  // one outlier in every fourth row
  sgemm({false, false, m, n, k, k, n, n}, a.data(), b.data(), ref.data());
  HadamardInt8Gemm(32, false, detected_int_isa()).run(m, n, k, a.data(), b.data(), plain.data());
  HadamardInt8Gemm(32, true, detected_int_isa()).run(m, n, k, a.data(), b.data(), rotated.data());
  EXPECT_LT(relative_error(rotated, ref), relative_error(plain, ref));
}

TEST(LowpDfp, RoundTripErrorWithinHalfStep) {
  std::mt19937_64 rng(8);
  for (float scale : {1e-6f, 0.01f, 1.0f, 300.0f, 1e6f}) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> x(1000), back(1000);
    for (float& v : x) v = normal(rng);
    std::vector<int16_t> q(x.size());
    const int e = dfp_quantize(x.data(), x.size(), q.data());
    dfp_dequantize(q.data(), q.size(), e, back.data());
    const double step = std::ldexp(1.0, e);
    float amax = 0;
    int16_t qmax = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_LE(std::fabs(double(back[i]) - x[i]), step / 2 * (1 + 1e-6)) << "scale " << scale;
      amax = std::max(amax, std::fabs(x[i]));
      qmax = std::max<int16_t>(qmax, std::abs(q[i]));
    }
    EXPECT_LE(amax / step, kDfp16Max);
    EXPECT_GT(amax / step, kDfp16Max / 2) << "exponent not the smallest that fits";
    EXPECT_GT(qmax, 16383);
  }
  std::vector<float> zeros(10, 0.0f);
  std::vector<int16_t> q(10, 1);
  dfp_quantize(zeros.data(), zeros.size(), q.data());
  for (int16_t v : q) EXPECT_EQ(v, 0);
}

// A GEMM operand is quantized from its last exponent and again only when the range moved: the
// same exponent and values as the max pass first, whichever way the range goes.
TEST(LowpDfp, OperandFollowsItsRangeAcrossSteps) {
  std::mt19937_64 rng(12);
  DfpTensor t;
  for (float scale : {1.0f, 1.0f, 1.3f, 1e-4f, 1e5f, 0.0f, 2.0f}) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(3001);
    for (float& v : x) v = scale * normal(rng);
    t.quantize(x.data(), x.size());
    const int e = dfp_exponent(x.data(), x.size(), kDfpGemmMax);
    EXPECT_EQ(t.exponent, e) << "scale " << scale;
    std::vector<int16_t> q(x.size());
    dfp_quantize(x.data(), x.size(), e, q.data());
    EXPECT_EQ(t.q, q) << "scale " << scale;
  }
}

TEST(LowpTraining, Int16DfpLowersTheLossLikeF32) {
  FcShape shape;
  shape.input = 32, shape.hidden = 64, shape.hidden_layers = 2, shape.classes = 8, shape.batch = 64;
  // Centres 4.8 noise deviations apart: the classes overlap (held-out accuracy 0.77 to 0.97
  // over task and init seeds), so there is a loss curve for DFP to track.
  const models::MixtureTask task(shape.input, shape.classes, 1, 4.8f);
  std::vector<Batch> data;
  for (int i = 0; i < 16; ++i) data.push_back(draw_batch(task, shape.batch, 50 + i));
  const Batch held_out = draw_batch(task, shape.batch, 99);
  double final_loss[2];
  int idx = 0;
  for (Precision p : {Precision::f32, Precision::int16_dfp}) {
    FcTrainer t(shape, p, 3, 0.05f);
    const double before = t.step(data[0]);  // the untrained network's loss
    for (int s = 1; s < 150; ++s) t.step(data[s % data.size()]);
    const double after = t.loss(held_out);
    EXPECT_LT(after, 0.5 * before) << to_string(p);
    EXPECT_GT(t.accuracy(held_out), 0.7) << to_string(p);
    final_loss[idx++] = after;
  }
  EXPECT_NEAR(final_loss[1], final_loss[0], 0.1 * final_loss[0] + 0.02) << "INT16 DFP should track f32";
}

}  // namespace
}  // namespace paradnn::cpu::lowp
