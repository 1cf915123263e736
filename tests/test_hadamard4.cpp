// Hadamard-domain 4-bit training: the packed 4-bit product with int8 tiles against an exact
// int64 reference on every runnable ISA (random and adversarial all +-7 operands), the tile
// length that rules out accumulator overflow (and the counter that sees one when a test
// forces longer tiles), 4-bit packing round trips and quantization, and class-incremental
// training in hadamard4 within 3 points of f32 with no overflow.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <sstream>

#include "models/mixture_task.hpp"
#include "platforms/cpu/lowp/float_gemm.hpp"
#include "platforms/cpu/lowp/hadamard4.hpp"
#include "platforms/cpu/lowp/hadamard4_bench.hpp"
#include "platforms/cpu/lowp/incremental_trainer.hpp"
#include "platforms/cpu/lowp/lowp_bench.hpp"
#include "tests/test_helpers.hpp"

namespace paradnn::cpu::lowp {
namespace {

std::vector<int8_t> random_s4(size_t n, uint64_t seed, int bound = kS4Max) { return random_ints<int8_t>(n, -bound, bound, seed); }

std::vector<int8_t> signs7(size_t n, uint64_t seed, bool all_positive) {
  std::mt19937_64 rng(seed);
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = all_positive || (rng() & 1) ? 7 : -7;
  return v;
}

struct Shape {
  int m, n, k;
};
// Odd shapes cross the row block (4 or 2), the 64-column panel, an odd k (a padded nibble),
// and a long k (several int16 flushes: 334 tiles of 2 at full scale = 668 steps).
const Shape kShapes[] = {{1, 1, 1}, {3, 5, 7}, {7, 65, 33}, {13, 130, 256}, {5, 64, 1501}, {66, 200, 96}};

// The product of packed qa (m x k) and qb (k x n) on `isa` against the int64 reference.
void expect_exact(const std::vector<int8_t>& qa, const std::vector<int8_t>& qb, const Shape& s, IntIsa isa, const std::string& what) {
  const PackedS4 a = pack_a_s4(qa.data(), s.m, s.k), b = pack_b_s4(qb.data(), s.k, s.n);
  std::vector<int64_t> ref(size_t(s.m) * s.n);
  reference_gemm_s4(a, b, ref.data());
  const int ldc = s.n + 3;
  // Checked and unchecked kernels differ (the unchecked full-scale one widens by offset binary).
  for (const bool checked : {true, false}) {
    std::vector<int32_t> c(size_t(s.m) * ldc, 0x5a5a5a5a);
    const S4GemmStats st = gemm_s4s4s32(a, b, c.data(), ldc, isa, {checked, 0});
    EXPECT_EQ(st.overflows, 0) << what;
    for (int i = 0; i < s.m; ++i)
      for (int j = 0; j < s.n; ++j)
        ASSERT_EQ(c[size_t(i) * ldc + j], ref[size_t(i) * s.n + j]) << what << (checked ? " checked " : " unchecked ")
                                                                    << to_string(isa) << " " << s.m << "x" << s.n << "x" << s.k
                                                                    << " at " << i << "," << j;
    EXPECT_EQ(c[size_t(s.m - 1) * ldc + s.n], 0x5a5a5a5a) << "wrote past the row";
  }
}

TEST(Hadamard4, ProductMatchesExactIntegerReferenceOnEveryIsa) {
  for (const IntIsa isa : runnable_int_isas())
    for (const Shape& s : kShapes) {
      expect_exact(random_s4(size_t(s.m) * s.k, 1), random_s4(size_t(s.k) * s.n, 2), s, isa, "random");
      expect_exact(random_s4(size_t(s.m) * s.k, 3, 3), random_s4(size_t(s.k) * s.n, 4, 2), s, isa, "small magnitudes");
      // Adversarial: all +7 (every product +49, the largest tile and int16 sums), and random signs of 7.
      expect_exact(signs7(size_t(s.m) * s.k, 5, true), signs7(size_t(s.k) * s.n, 6, true), s, isa, "all +7");
      expect_exact(signs7(size_t(s.m) * s.k, 7, true), signs7(size_t(s.k) * s.n, 8, false), s, isa, "+7 x +-7");
      expect_exact(signs7(size_t(s.m) * s.k, 9, false), signs7(size_t(s.k) * s.n, 10, false), s, isa, "+-7 x +-7");
    }
}

TEST(Hadamard4, TileLengthRulesOutInt8Overflow) {
  // T * max|a| * max|b| <= 127, T even: full scale gives tiles of 2 products.
  EXPECT_EQ(s4_tile_steps(7, 7), 2);
  EXPECT_EQ(s4_tile_steps(7, 6), 2);   // 127 / 42 = 3 -> 2 (even)
  EXPECT_EQ(s4_tile_steps(4, 4), 6);   // 127 / 16 = 7 -> 6
  EXPECT_EQ(s4_tile_steps(1, 1), 64);  // capped
  EXPECT_EQ(s4_tile_steps(0, 7), 64);
  for (int ma = 0; ma <= kS4Max; ++ma)
    for (int mb = 0; mb <= kS4Max; ++mb) {
      const int t = s4_tile_steps(ma, mb);
      EXPECT_LE(t * ma * mb, 127);
      EXPECT_EQ(t % 2, 0);
    }
}

TEST(Hadamard4, OverflowCounterSeesForcedOverflowAndNoneAtTheChosenTile) {
  // All +7, full scale: 49 per product. With the chosen tile (T = 2: 98) nothing wraps; a
  // forced T = 4 (196 > 127) wraps every tile, and the counter must say so on every ISA.
  const Shape s{8, 64, 512};
  const auto qa = signs7(size_t(s.m) * s.k, 1, true), qb = signs7(size_t(s.k) * s.n, 2, true);
  const PackedS4 a = pack_a_s4(qa.data(), s.m, s.k), b = pack_b_s4(qb.data(), s.k, s.n);
  std::vector<int32_t> c(size_t(s.m) * s.n);
  for (const IntIsa isa : runnable_int_isas()) {
    const S4GemmStats ok = gemm_s4s4s32(a, b, c.data(), s.n, isa, {true, 0});
    EXPECT_EQ(ok.tile_steps, 2);
    EXPECT_EQ(ok.overflows, 0) << to_string(isa);
    for (const int32_t v : c) ASSERT_EQ(v, 49 * s.k);
    const S4GemmStats bad = gemm_s4s4s32(a, b, c.data(), s.n, isa, {true, 4});
    EXPECT_GT(bad.overflows, 0) << to_string(isa) << ": a forced T = 4 wraps int8 and must be counted";
    EXPECT_NE(c[0], 49 * s.k);
  }
}

TEST(Hadamard4, PackUnpackRoundTrip) {
  for (const Shape& s : kShapes) {
    const auto qa = random_s4(size_t(s.m) * s.k, 11), qb = random_s4(size_t(s.k) * s.n, 12);
    const PackedS4 a = pack_a_s4(qa.data(), s.m, s.k), b = pack_b_s4(qb.data(), s.k, s.n);
    EXPECT_EQ(a.bytes.size(), size_t(s.m) * ((s.k + 1) / 2)) << "two values per byte";
    EXPECT_EQ(b.ld % kS4PanelCols, 0);
    EXPECT_EQ(unpack_a_s4(a), qa);
    EXPECT_EQ(unpack_b_s4(b), qb);
  }
  const std::vector<int8_t> bad = {8};
  EXPECT_THROW(pack_a_s4(bad.data(), 1, 1), std::invalid_argument);
}

TEST(Hadamard4, QuantizationRoundsAndStochasticRoundingIsUnbiased) {
  // Round to nearest: row max -> 7, within half a step.
  const std::vector<float> row = {1.0f, -0.5f, 0.26f, 0.0f, -1.0f, 0.07f};
  std::vector<int8_t> q(row.size());
  float scale = 0;
  quantize_rows_s4(row.data(), 1, int(row.size()), Rounding::nearest, 0, q.data(), &scale);
  EXPECT_FLOAT_EQ(scale, 1.0f / 7);
  const std::vector<int8_t> want = {7, -4, 2, 0, -7, 0};  // 0.26 * 7 = 1.82; 0.07 * 7 = 0.49
  EXPECT_EQ(q, want);
  // Stochastic: 0.3 of a step above 2 rounds up 30% of the time; deterministic per seed.
  const int n = 20000;
  std::vector<float> col(n, 2.3f / 7);
  col[0] = 1.0f;  // sets the scale to 1/7
  std::vector<int8_t> qs(n), qs2(n);
  quantize_cols_s4(col.data(), n, 1, Rounding::stochastic, 42, qs.data(), &scale);
  quantize_cols_s4(col.data(), n, 1, Rounding::stochastic, 42, qs2.data(), &scale);
  EXPECT_EQ(qs, qs2);
  double mean = 0;
  for (int i = 1; i < n; ++i) {
    ASSERT_TRUE(qs[i] == 2 || qs[i] == 3);
    mean += qs[i];
  }
  mean /= n - 1;
  EXPECT_NEAR(mean, 2.3, 0.02);
}

TEST(Hadamard4, WholeProductApproximatesF32) {
  // Transposed operands, k not a multiple of the block (zero padded): the 4-bit product of
  // Gaussian data is a coarse but unbiased approximation of f32.
  const int m = 48, n = 70, k = 200;
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal;
  std::vector<float> a(size_t(m) * k), b(size_t(k) * n), ref(size_t(m) * n), c(ref.size());
  for (float& x : a) x = normal(rng);
  for (float& x : b) x = normal(rng);
  sgemm({true, true, m, n, k, m, k, n}, a.data(), b.data(), ref.data());  // A stored k x m, B stored n x k
  for (const IntIsa isa : runnable_int_isas()) {
    Hadamard4Gemm h(32, isa, true);
    h.run(true, true, m, n, k, a.data(), b.data(), c.data());
    const double err = relative_error(c, ref);
    EXPECT_LT(err, 0.25) << to_string(isa);
    EXPECT_GT(err, 0.01) << "4 bits cannot be this close";
    EXPECT_EQ(h.stats().overflows, 0);
    EXPECT_EQ(h.stats().tile_steps, 2);
  }
}

TEST(Hadamard4, ClassIncrementalTrainingWithinThreePointsOfF32) {
  // One thread: hundreds of small products per second, whose OpenMP barriers spin for ages
  // when the 2-core test machine is shared (about 3 s alone, 20 s under a parallel build).
  // The threaded kernels are checked for exactness above.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const IncrementalSetup setup = incremental_setup(false);
  const models::MixtureTask task(setup.shape.input, setup.shape.classes, setup.task_seed, setup.separation);
  const IncrementalResult f32 = train_class_incremental(task, setup.shape, Precision::f32, setup.schedule, 7);
  const IncrementalResult h4 = train_class_incremental(task, setup.shape, Precision::hadamard4, setup.schedule, 7);
  ASSERT_EQ(f32.stage_accuracy.size(), size_t(setup.schedule.stages));
  std::ostringstream stages;
  for (size_t s = 0; s < f32.stage_accuracy.size(); ++s) stages << ' ' << f32.stage_accuracy[s] << '/' << h4.stage_accuracy[s];
  EXPECT_GT(f32.final_accuracy, 0.6) << "the schedule must learn something in f32; stages (f32/h4):" << stages.str();
  EXPECT_GE(h4.final_accuracy, f32.final_accuracy - 0.03) << "stages (f32/h4):" << stages.str();
  EXPECT_EQ(h4.s4_overflows, 0) << "every hadamard4 product is overflow-checked";
  EXPECT_EQ(h4.s4_tile_steps, 2);
  omp_set_num_threads(threads);
}

}  // namespace
}  // namespace paradnn::cpu::lowp
