// INT16 dynamic fixed point convolution (platforms/cpu/lowp/dfp_conv): forward, backward-data
// and backward-weights against an exact integer reference (int64) on every runnable ISA,
// including full-scale operands whose plain int32 sums would wrap, and against an f32
// convolution within the DFP quantization error bound.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "platforms/cpu/lowp/dfp.hpp"
#include "platforms/cpu/lowp/dfp_conv.hpp"
#include "platforms/cpu/lowp/int_gemm.hpp"
#include "tests/test_helpers.hpp"

namespace paradnn::cpu::lowp {
namespace {

// 3x3 s1 p1, 3x3 s2 (with a 16-wide panel tail), 1x1, 7x7 s2 p3 on 3 channels, odd sizes and
// channel counts crossing the 32-wide panels, a 1x1 stride 2 (phases no tap reaches), R != S;
// then shapes every AMX product takes (channels in whole vectors; 32 and 64 per tap: reduction
// chunks that end mid-tile and on a tile), stride 2 and 1x1 included, and a 16-wide 7x7 stem
// (AMX: a kernel row's 7 pixels x 4 channels as one reduction tap).
const ConvShape kShapes[] = {
    {2, 5, 7, 9, 8, 3, 3, 1, 1},    {2, 6, 40, 9, 9, 3, 3, 2, 1},  {3, 16, 16, 7, 6, 1, 1, 1, 0},
    {1, 3, 8, 15, 13, 7, 7, 2, 3},  {2, 34, 33, 5, 7, 3, 3, 1, 0}, {1, 4, 4, 6, 6, 1, 1, 2, 0},
    {2, 8, 12, 6, 7, 2, 3, 2, 1},   {1, 64, 48, 6, 5, 3, 3, 1, 1}, {2, 32, 32, 9, 8, 3, 3, 1, 1},
    {2, 32, 48, 9, 9, 3, 3, 2, 1},  {3, 64, 32, 5, 4, 1, 1, 1, 0}, {2, 3, 32, 15, 13, 7, 7, 2, 3},
};

size_t x_size(const ConvShape& s) { return size_t(s.n) * s.h * s.w * s.c; }
size_t y_size(const ConvShape& s) { return size_t(s.n) * s.oh() * s.ow() * s.k; }
size_t w_size(const ConvShape& s) { return size_t(s.k) * s.r * s.s * s.c; }

// Every (input pixel, output pixel, filter tap) the convolution pairs, as flat NHWC pixel
// indices and the tap r * S + q: the three products below are sums over these.
template <typename F>
void each_tap(const ConvShape& s, F f) {
  for (int n = 0; n < s.n; ++n)
    for (int oh = 0; oh < s.oh(); ++oh)
      for (int ow = 0; ow < s.ow(); ++ow)
        for (int r = 0; r < s.r; ++r)
          for (int q = 0; q < s.s; ++q) {
            const int ih = oh * s.stride - s.pad + r, iw = ow * s.stride - s.pad + q;
            if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
            f((size_t(n) * s.h + ih) * s.w + iw, (size_t(n) * s.oh() + oh) * s.ow() + ow, size_t(r) * s.s + q);
          }
}

// The three products by plain loops, in T (int64_t: exact; double: the f32 reference).
// Weights are KRSC: element (k, tap, c) at (k * taps + tap) * C + c.
template <typename T>
std::vector<T> ref_forward(const ConvShape& s, const std::vector<T>& x, const std::vector<T>& w) {
  std::vector<T> y(y_size(s), T(0));
  const size_t taps = size_t(s.r) * s.s;
  each_tap(s, [&](size_t xp, size_t yp, size_t tap) {
    for (int k = 0; k < s.k; ++k)
      for (int c = 0; c < s.c; ++c) y[yp * s.k + k] += x[xp * s.c + c] * w[(k * taps + tap) * s.c + c];
  });
  return y;
}

template <typename T>
std::vector<T> ref_backward_data(const ConvShape& s, const std::vector<T>& dy, const std::vector<T>& w) {
  std::vector<T> dx(x_size(s), T(0));
  const size_t taps = size_t(s.r) * s.s;
  each_tap(s, [&](size_t xp, size_t yp, size_t tap) {
    for (int k = 0; k < s.k; ++k)
      for (int c = 0; c < s.c; ++c) dx[xp * s.c + c] += dy[yp * s.k + k] * w[(k * taps + tap) * s.c + c];
  });
  return dx;
}

template <typename T>
std::vector<T> ref_backward_weights(const ConvShape& s, const std::vector<T>& x, const std::vector<T>& dy) {
  std::vector<T> dw(w_size(s), T(0));
  const size_t taps = size_t(s.r) * s.s;
  each_tap(s, [&](size_t xp, size_t yp, size_t tap) {
    for (int k = 0; k < s.k; ++k)
      for (int c = 0; c < s.c; ++c) dw[(k * taps + tap) * s.c + c] += dy[yp * s.k + k] * x[xp * s.c + c];
  });
  return dw;
}

// Every element at +-top: `sign` 0 random signs, else all of that sign.
std::vector<int16_t> full_scale(size_t n, int top, int sign, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int16_t> v(n);
  for (auto& x : v) x = int16_t(top * (sign ? sign : (rng() & 1 ? 1 : -1)));
  return v;
}

template <typename From>
std::vector<int64_t> widen(const std::vector<From>& v) {
  return std::vector<int64_t>(v.begin(), v.end());
}
std::vector<int64_t> absv(std::vector<int64_t> v) {
  for (auto& x : v) x = x < 0 ? -x : x;
  return v;
}

int max_abs(const std::vector<int16_t>& v) {
  int m = 0;
  for (auto x : v) m = std::max(m, std::abs(int(x)));
  return m;
}

// The three passes on integer operands (x, w, dy with exponents ex, ew, ed), each compared with
// the int64 reference: out == 2^e * ref up to f32 rounding of the partial sums (an int32 chain
// converted to f32, chains added in f32: (chains + 2) roundings of at most 2^-24 of the sum of
// |products|), and exactly when every partial sum is below 2^24 (`exact`).
void check_integer(const ConvShape& s, const std::vector<int16_t>& x, const std::vector<int16_t>& w,
                   const std::vector<int16_t>& dy, bool exact, bool aligned, const std::string& what) {
  const int ex = -3, ew = 2, ed = -1;
  const auto x64 = widen(x), w64 = widen(w), d64 = widen(dy);
  const auto ax = absv(x64), aw = absv(w64), ad = absv(d64);
  struct Pass {
    const char* name;
    std::vector<int64_t> ref, abs;
    int scale_exp, qa, qb;
    int64_t len;  // products per output
  };
  const int64_t plane = int64_t(s.oh()) * s.ow();
  std::vector<Pass> passes = {
      {"forward", ref_forward(s, x64, w64), ref_forward(s, ax, aw), ex + ew, max_abs(x), max_abs(w), int64_t(s.r) * s.s * s.c},
      {"backward-data", ref_backward_data(s, d64, w64), ref_backward_data(s, ad, aw), ed + ew, max_abs(dy), max_abs(w),
       int64_t((s.r + s.stride - 1) / s.stride) * ((s.s + s.stride - 1) / s.stride) * s.k},  // taps per stride phase
      {"backward-weights", ref_backward_weights(s, x64, d64), ref_backward_weights(s, ax, ad), ex + ed, max_abs(x), max_abs(dy),
       s.n * plane},
  };
  // Operands of one sign: wherever the longest sum can leave int32, it must.
  if (aligned)
    for (const Pass& p : passes) {
      if (p.len * p.qa * p.qb <= INT32_MAX) continue;
      int64_t m = 0;
      for (auto v : p.ref) m = std::max(m, v < 0 ? -v : v);
      EXPECT_GT(m, int64_t(INT32_MAX)) << what << " " << p.name << ": not adversarial, the exact sums fit int32";
    }
  DfpActivation qx, qd;
  DfpConvWeights qw;
  dfp_pack_input(s, x.data(), ex, qx);
  dfp_pack_grad_output(s, dy.data(), ed, qd);
  for (IntIsa isa : runnable_int_isas()) {
    dfp_pack_weights(s, w.data(), ew, qw, isa);
    std::vector<float> y(y_size(s), 1e30f), dx(x_size(s), 1e30f), dw(w_size(s), 1e30f), db(s.k, 1e30f);
    dfp_conv_forward(s, qx, qw, nullptr, y.data(), isa);
    dfp_conv_backward_data(s, qd, qw, dx.data(), isa);
    dfp_conv_backward_weights(s, qx, qd, dw.data(), db.data(), isa);
    const std::vector<float>* outs[] = {&y, &dx, &dw};
    for (int pi = 0; pi < 3; ++pi) {
      const Pass& p = passes[pi];
      const std::vector<float>& out = *outs[pi];
      const double scale = std::ldexp(1.0, p.scale_exp);
      // Chains per output: the pairs over the chain length, plus a chain per 128-pixel chunk
      // (backward-weights), plus one f32 addition per thread's partial sum.
      const int64_t chains = (p.len + 1) / 2 / dfp_chain_pairs(p.qa, p.qb) + s.n * ((plane + 127) / 128) + omp_get_max_threads() + 2;
      for (size_t i = 0; i < out.size(); ++i) {
        const double want = scale * double(p.ref[i]);
        if (exact) {
          ASSERT_EQ(double(out[i]), want) << what << " " << s.str() << " " << p.name << " " << to_string(isa) << " at " << i;
        } else {
          const double tol = (chains + 2) * std::ldexp(1.0, -24) * scale * double(p.abs[i]);
          ASSERT_NEAR(double(out[i]), want, tol)
              << what << " " << s.str() << " " << p.name << " " << to_string(isa) << " at " << i << " |ref| sum " << p.abs[i];
        }
      }
    }
    for (int k = 0; k < s.k; ++k) {
      int64_t sum = 0;
      for (size_t i = k; i < dy.size(); i += s.k) sum += dy[i];
      ASSERT_EQ(db[k], std::ldexp(float(sum), ed)) << "dbias " << s.str() << " " << to_string(isa);  // the exact sum, rounded once
    }
  }
}

TEST(LowpDfpConv, MatchesExactIntegerReferenceOnEveryIsa) {
  uint64_t seed = 1;
  for (const ConvShape& s : kShapes) {
    // Small values: every partial sum below 2^24, so f32 holds them exactly.
    const auto x = random_ints<int16_t>(x_size(s), -40, 40, seed++), w = random_ints<int16_t>(w_size(s), -40, 40, seed++);
    const auto dy = random_ints<int16_t>(y_size(s), -40, 40, seed++);
    check_integer(s, x, w, dy, true, false, "small values");
  }
}

TEST(LowpDfpConv, NeverOverflowsInt32AtFullScale) {
  // All elements at +-32767 (one product pair already near 2^31) and at the DFP GEMM max
  // (4095: 128 products fit int32): aligned signs make every sum leave int32, random signs mix.
  // The last four run the AMX products where the CPU has them; the 1x1 over 2 x 130 x 130
  // pixels drains backward-weights' tiles twice (every 32768 pixels); the last is a stem.
  const ConvShape shapes[] = {{2, 6, 40, 9, 9, 3, 3, 2, 1},    {1, 3, 8, 15, 13, 7, 7, 2, 3}, {2, 64, 33, 6, 5, 3, 3, 1, 1},
                              {3, 40, 16, 7, 6, 1, 1, 1, 0},    {2, 32, 32, 7, 6, 3, 3, 1, 1}, {1, 64, 32, 7, 7, 3, 3, 2, 1},
                              {2, 16, 16, 130, 130, 1, 1, 1, 0}, {1, 3, 32, 15, 13, 7, 7, 2, 3}};
  uint64_t seed = 100;
  for (const int top : {kDfp16Max, kDfpGemmMax})
    for (const ConvShape& s : shapes)
      for (const int sign : {1, -1, 0}) {
        const auto x = full_scale(x_size(s), top, sign, seed++), w = full_scale(w_size(s), top, sign ? 1 : 0, seed++);
        const auto dy = full_scale(y_size(s), top, sign ? -sign : 0, seed++);
        std::string what = "full scale ";
        what += std::to_string(top);
        what += sign ? (sign > 0 ? " aligned +" : " aligned -") : " random signs";
        check_integer(s, x, w, dy, false, sign != 0, what);
      }
}

// Backward-weights has three paths: few pixels (under 4 chunks a thread: split over taps and
// output channels, pixels grouped by the taps they reach, odd groups padded with a zero pixel;
// the 130 x 128 layer, 3 images of 15x13), many pixels (chunks of the batch's pixels that run
// across images, each thread its own sums; the 40x36 layer at 2 threads: 23 chunks) and a
// 3-channel stem (the (tap, c)-rows path).
TEST(LowpDfpConv, DeepAndStemLayersMatchIntegerReference) {
  const ConvShape shapes[] = {{3, 130, 128, 15, 13, 3, 3, 1, 1}, {2, 24, 40, 40, 36, 3, 3, 1, 1}, {2, 3, 64, 17, 19, 3, 3, 1, 1}};
  const int threads = omp_get_max_threads();
  omp_set_num_threads(2);  // the path depends on chunks per thread
  uint64_t seed = 500;
  for (const ConvShape& s : shapes) {
    const auto x = random_ints<int16_t>(x_size(s), -40, 40, seed++), w = random_ints<int16_t>(w_size(s), -40, 40, seed++);
    const auto dy = random_ints<int16_t>(y_size(s), -40, 40, seed++);
    check_integer(s, x, w, dy, true, false, "deep/stem small values");
    // The ranges training quantizes to: 15-bit activations (8-pair chains), 12-bit w and dy.
    const auto xf = full_scale(x_size(s), kDfpActivationMax, 1, seed++), wf = full_scale(w_size(s), kDfpGemmMax, 1, seed++);
    const auto dyf = full_scale(y_size(s), kDfpGemmMax, -1, seed++);
    check_integer(s, xf, wf, dyf, false, true, "deep/stem full scale aligned");
  }
  omp_set_num_threads(threads);
}

// f32 in, f32 out: within the DFP rounding bound. With steps dx = 2^ex, dw = 2^ew, each
// element off by at most half a step: |y - y_ref| <= sum |x| dw/2 + sum |w| dx/2 + n dx dw / 4
// (plus f32 rounding), computed per output from the same loops.
TEST(LowpDfpConv, F32WithinQuantizationErrorBound) {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const ConvShape& s : kShapes) {
    std::vector<float> x(x_size(s)), w(w_size(s)), dy(y_size(s)), bias(s.k);
    for (auto& v : x) v = std::max(0.0f, normal(rng));  // post-ReLU activations
    for (auto& v : w) v = 0.1f * normal(rng);
    for (auto& v : dy) v = 1e-3f * normal(rng);
    for (auto& v : bias) v = normal(rng);
    const int ex = dfp_exponent(x.data(), x.size(), kDfpGemmMax), ew = dfp_exponent(w.data(), w.size(), kDfpGemmMax),
              ed = dfp_exponent(dy.data(), dy.size(), kDfpGemmMax);
    auto to_d = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
    auto abs_d = [](const std::vector<float>& v) {
      std::vector<double> a(v.size());
      for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
      return a;
    };
    auto half_step = [](size_t n, int e) { return std::vector<double>(n, std::ldexp(0.5, e)); };
    const auto xd = to_d(x), wd = to_d(w), dd = to_d(dy), xa = abs_d(x), wa = abs_d(w), da = abs_d(dy);
    const auto hx = half_step(x.size(), ex), hw = half_step(w.size(), ew), hd = half_step(dy.size(), ed);
    struct Pass {
      const char* name;
      std::vector<double> ref, bound;
      std::vector<float> out;
    };
    auto sum3 = [](std::vector<double> a, const std::vector<double>& b, const std::vector<double>& c) {
      for (size_t i = 0; i < a.size(); ++i) a[i] += b[i] + c[i];
      return a;
    };
    std::vector<Pass> passes;
    passes.push_back({"forward", ref_forward(s, xd, wd),
                      sum3(ref_forward(s, xa, hw), ref_forward(s, hx, wa), ref_forward(s, hx, hw)), std::vector<float>(y_size(s))});
    passes.push_back({"backward-data", ref_backward_data(s, dd, wd),
                      sum3(ref_backward_data(s, da, hw), ref_backward_data(s, hd, wa), ref_backward_data(s, hd, hw)),
                      std::vector<float>(x_size(s))});
    passes.push_back({"backward-weights", ref_backward_weights(s, xd, dd),
                      sum3(ref_backward_weights(s, xa, hd), ref_backward_weights(s, hx, da), ref_backward_weights(s, hx, hd)),
                      std::vector<float>(w_size(s))});
    const auto magnitude = sum3(ref_forward(s, xa, wa), std::vector<double>(y_size(s), 0.0), std::vector<double>(y_size(s), 0.0));
    std::vector<float> db(s.k);
    dfp_conv_forward(s, x.data(), w.data(), bias.data(), passes[0].out.data());
    dfp_conv_backward_data(s, dy.data(), w.data(), passes[1].out.data());
    dfp_conv_backward_weights(s, x.data(), dy.data(), passes[2].out.data(), db.data());
    for (size_t i = 0; i < passes[0].ref.size(); ++i) passes[0].ref[i] += bias[i % s.k];
    double err2 = 0, ref2 = 0;
    for (Pass& p : passes) {
      for (size_t i = 0; i < p.out.size(); ++i) {
        const double slack = 1e-6 * (std::fabs(p.ref[i]) + p.bound[i]) + (p.name[0] == 'f' ? 1e-6 * (magnitude[i] + 1) : 1e-30);
        ASSERT_NEAR(p.out[i], p.ref[i], p.bound[i] + slack) << s.str() << " " << p.name << " at " << i;
        if (p.name[0] == 'f') err2 += (p.out[i] - p.ref[i]) * (p.out[i] - p.ref[i]), ref2 += p.ref[i] * p.ref[i];
      }
    }
    EXPECT_GT(err2, 0.0) << s.str() << ": DFP cannot be this exact; is the quantization running?";
    EXPECT_LT(std::sqrt(err2 / ref2), 5e-3) << s.str();
    for (int k = 0; k < s.k; ++k) {
      double sum = 0, bound = 0;
      for (size_t i = k; i < dy.size(); i += s.k) sum += dy[i], bound += std::ldexp(0.5, ed);
      EXPECT_NEAR(db[k], sum, bound + 1e-6 * std::fabs(sum)) << "dbias " << s.str();
    }
  }
}

TEST(LowpDfpConv, PacksAreReusedAcrossSteps) {
  // A trainer packs into the same buffers each step: padding must stay zero, exponents follow
  // (a pack starts from its last exponent and quantizes again when the range moved: the
  // result is the max-pass-first one, whether the range moved up, down or not at all).
  const ConvShape s{2, 5, 7, 9, 8, 3, 3, 1, 1};
  DfpActivation qx;
  DfpConvWeights qw;
  std::vector<float> x(x_size(s)), w(w_size(s)), y1(y_size(s)), y2(y_size(s));
  std::mt19937_64 rng(9);
  std::normal_distribution<float> normal;
  for (auto& v : w) v = normal(rng);
  for (const float scale : {1000.0f, 0.001f, 0.0011f, 7.0f}) {
    for (auto& v : x) v = scale * normal(rng);
    for (auto& v : w) v *= 1.5f;
    dfp_pack_input(s, x.data(), qx);
    dfp_pack_weights(s, w.data(), qw);
    EXPECT_EQ(qx.exponent, dfp_exponent(x.data(), x.size(), kDfpActivationMax));
    EXPECT_EQ(qw.exponent, dfp_exponent(w.data(), w.size(), kDfpGemmMax));
    std::vector<int16_t> wq(w.size());
    dfp_quantize(w.data(), w.size(), qw.exponent, wq.data());
    EXPECT_EQ(qw.q, wq);
    int wmax = 0;
    for (int16_t v : wq) wmax = std::max(wmax, std::abs(int(v)));
    EXPECT_EQ(qw.qmax, wmax);
    EXPECT_LE(qx.qmax, kDfpActivationMax);
    EXPECT_GT(qx.qmax, kDfpActivationMax / 2);
    dfp_conv_forward(s, qx, qw, nullptr, y1.data(), detected_int_isa());
    dfp_conv_forward(s, x.data(), w.data(), nullptr, y2.data());
    for (size_t i = 0; i < y1.size(); ++i) ASSERT_EQ(y1[i], y2[i]) << "scale " << scale;
  }
}

// NHWC <-> nChw16c (oneDNN's blocked layout; c a multiple of 16).
std::vector<float> to_blocked(const std::vector<float>& v, int n, int c, int h, int w, bool back = false) {
  std::vector<float> out(v.size());
  for (int ni = 0; ni < n; ++ni)
    for (int ci = 0; ci < c; ++ci)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          const size_t nhwc = ((size_t(ni) * h + y) * w + x) * c + ci;
          const size_t blk = (((size_t(ni) * (c / 16) + ci / 16) * h + y) * w + x) * 16 + ci % 16;
          if (back)
            out[nhwc] = v[blk];
          else
            out[blk] = v[nhwc];
        }
  return out;
}

// Activations in nChw16c (as oneDNN's f32 batch norm and pools prefer): the same int16 packs
// and the same sums as from NHWC, only stored elsewhere: the three products equal the NHWC
// ones exactly, on every ISA (a 3-channel NHWC input with a blocked output, as the stem;
// a 16-wide panel tail; stride 2).
TEST(LowpDfpConv, BlockedLayoutsMatchNhwc) {
  const ConvShape shapes[] = {{2, 32, 48, 9, 8, 3, 3, 1, 1}, {1, 3, 32, 15, 13, 7, 7, 2, 3}, {2, 16, 32, 9, 9, 3, 3, 2, 1},
                              {3, 64, 16, 4, 5, 1, 1, 1, 0}};
  for (const ConvShape& plain : shapes) {
    ConvShape blk = plain;
    blk.in = plain.c % 16 == 0 ? ActLayout::nChw16c : ActLayout::nhwc;
    blk.out = ActLayout::nChw16c;
    std::mt19937_64 rng(21);
    std::normal_distribution<float> normal;
    std::vector<float> x(x_size(plain)), w(w_size(plain)), dy(y_size(plain)), bias(plain.k);
    for (auto& v : x) v = normal(rng);
    for (auto& v : w) v = normal(rng);
    for (auto& v : dy) v = normal(rng);
    for (auto& v : bias) v = normal(rng);
    const bool bin = blk.in == ActLayout::nChw16c;
    const std::vector<float> xb = bin ? to_blocked(x, plain.n, plain.c, plain.h, plain.w) : x;
    const std::vector<float> dyb = to_blocked(dy, plain.n, plain.k, plain.oh(), plain.ow());
    for (IntIsa isa : runnable_int_isas()) {
      SCOPED_TRACE(blk.str() + " " + to_string(isa));
      std::vector<float> y(y_size(plain)), yb(y.size()), dx(x.size()), dxb(x.size()), dw(w.size()), dwb(w.size()), db(plain.k),
          dbb(plain.k);
      dfp_conv_forward(plain, x.data(), w.data(), bias.data(), y.data(), isa);
      dfp_conv_forward(blk, xb.data(), w.data(), bias.data(), yb.data(), isa);
      EXPECT_EQ(y, to_blocked(yb, plain.n, plain.k, plain.oh(), plain.ow(), true));
      dfp_conv_backward_data(plain, dy.data(), w.data(), dx.data(), isa);
      dfp_conv_backward_data(blk, dyb.data(), w.data(), dxb.data(), isa);
      EXPECT_EQ(dx, bin ? to_blocked(dxb, plain.n, plain.c, plain.h, plain.w, true) : dxb);
      dfp_conv_backward_weights(plain, x.data(), dy.data(), dw.data(), db.data(), isa);
      dfp_conv_backward_weights(blk, xb.data(), dyb.data(), dwb.data(), dbb.data(), isa);
      EXPECT_EQ(dw, dwb);
      EXPECT_EQ(db, dbb);
    }
  }
  ConvShape odd{1, 24, 16, 4, 4, 3, 3, 1, 1};
  odd.in = ActLayout::nChw16c;
  std::vector<float> x(x_size(odd));
  DfpActivation qx;
  EXPECT_THROW(dfp_pack_input(odd, x.data(), qx), std::invalid_argument);  // 24 channels are not whole blocks
}

// Outputs past 8 MB are written with non-temporal stores where a row is 64-byte aligned: the
// result must not depend on the path (aligned buffer vs the same buffer 4 bytes off).
TEST(LowpDfpConv, StreamedOutputsMatchCachedOnes) {
  const ConvShape s{2, 16, 64, 130, 130, 3, 3, 1, 1};  // y: 8.6 MB; dx (C 16): 2.2 MB, cached
  const ConvShape t{2, 64, 16, 130, 130, 3, 3, 1, 1};  // dx: 8.6 MB
  for (const ConvShape& sh : {s, t}) {
    std::mt19937_64 rng(11);
    std::normal_distribution<float> normal;
    std::vector<float> x(x_size(sh)), w(w_size(sh)), dy(y_size(sh));
    for (auto& v : x) v = normal(rng);
    for (auto& v : w) v = normal(rng);
    for (auto& v : dy) v = normal(rng);
    const size_t big = std::max(y_size(sh), x_size(sh)) + 16;
    float* buf = static_cast<float*>(std::aligned_alloc(64, big * sizeof(float)));
    std::vector<float> y_stream(y_size(sh)), dx_stream(x_size(sh));
    for (IntIsa isa : runnable_int_isas()) {
      dfp_conv_forward(sh, x.data(), w.data(), nullptr, buf, isa);  // aligned: streamed where eligible
      std::copy(buf, buf + y_stream.size(), y_stream.begin());
      dfp_conv_forward(sh, x.data(), w.data(), nullptr, buf + 1, isa);  // misaligned: cached stores
      for (size_t i = 0; i < y_stream.size(); ++i) ASSERT_EQ(y_stream[i], buf[1 + i]) << to_string(isa) << " y at " << i;
      dfp_conv_backward_data(sh, dy.data(), w.data(), buf, isa);
      std::copy(buf, buf + dx_stream.size(), dx_stream.begin());
      dfp_conv_backward_data(sh, dy.data(), w.data(), buf + 1, isa);
      for (size_t i = 0; i < dx_stream.size(); ++i) ASSERT_EQ(dx_stream[i], buf[1 + i]) << to_string(isa) << " dx at " << i;
    }
    std::free(buf);
  }
}

// AMX products read tile panels, the others pair words: weights packed for one are refused by
// the other, not read as garbage.
TEST(LowpDfpConv, WeightsPackedForAnotherIsaAreRefused) {
  if (detected_int_isa() != IntIsa::amx_int8) GTEST_SKIP() << "no AMX-INT8 here: every ISA reads the same pair words";
  const ConvShape s{2, 32, 32, 6, 6, 3, 3, 1, 1};
  const std::vector<float> x(x_size(s), 1.0f), w(w_size(s), 0.5f);
  std::vector<float> y(y_size(s));
  DfpActivation qx;
  DfpConvWeights qw;
  dfp_pack_input(s, x.data(), qx);
  dfp_pack_weights(s, w.data(), qw, kDfpGemmMax, IntIsa::avx512_vnni);
  EXPECT_THROW(dfp_conv_forward(s, qx, qw, nullptr, y.data(), IntIsa::amx_int8), std::invalid_argument);
  dfp_pack_weights(s, w.data(), qw, kDfpGemmMax, IntIsa::amx_int8);
  EXPECT_THROW(dfp_conv_forward(s, qx, qw, nullptr, y.data(), IntIsa::avx512_vnni), std::invalid_argument);
  dfp_conv_forward(s, qx, qw, nullptr, y.data(), IntIsa::amx_int8);
  EXPECT_EQ(y[(2 * 6 + 2) * 32], 0.5f * 9 * 32);  // output (0, 2, 2), inside: 9 taps x 32 channels of 1 x 0.5
}

TEST(LowpDfpConv, ChainLengthKeepsInt32) {
  EXPECT_EQ(dfp_chain_pairs(kDfp16Max, kDfp16Max), 1);
  EXPECT_EQ(dfp_chain_pairs(kDfpGemmMax, kDfpGemmMax), 64);  // 128 products, as gemm_s16s16f32
  EXPECT_EQ(dfp_chain_pairs(0, 5, 1000), 1000);
  for (int q : {1, 7, 300, 4095, 20000, 32767}) {
    const int64_t l = dfp_chain_pairs(q, q);
    EXPECT_LE(2 * l * q * q, INT32_MAX);
  }
}

}  // namespace
}  // namespace paradnn::cpu::lowp
