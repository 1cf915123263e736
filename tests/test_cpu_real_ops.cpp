// The CPU backend's ops for the real-world models (reshape, transpose, upsample, batched
// matmul, softmax, layer norm, focal loss, rank-3 concat, tied parameters), each in a tiny
// graph trained one step. Forward values are checked against plain loops; an op's input
// and weight gradients against central differences of <reference(x), dy>, dy being the
// backend's own gradient of the op's output, so no backward pass is written twice. Then
// each of the six real models runs one training and one inference step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "cpu_reference.hpp"
#include "models/real/real_models.hpp"
#include "paradnn/graph_builder.hpp"
#include "platforms/cpu/backend/onednn_executable.hpp"

namespace paradnn {
namespace {

using Vec = std::vector<double>;
using Ref = std::function<Vec(const Vec&)>;

using reference::to_double;

using reference::rel_error;
using reference::vjp;

constexpr double kTol = 1e-4;

GraphBuilder builder() { return GraphBuilder("test", "real_ops", 0, DType::f32, Optimizer::sgd); }

// One training step; then op `op`, reading op `x`, is checked: forward against `ref`, and
// the gradient it passes to `x` against central differences.
void check_unary(const Graph& g, int x, int op, const Ref& ref) {
  cpu::CpuExecutable ex(g, Mode::train, true, cpu::Buffers::one_per_tensor);  // every tensor readable
  ex.step();
  ASSERT_TRUE(std::isfinite(ex.loss()));
  const Vec in = to_double(ex.output(x));
  EXPECT_LE(rel_error(ex.output(op), ref(in)), kTol) << "forward of " << g.op(op).name;
  const Vec dy = to_double(ex.output_grad(op));
  EXPECT_LE(rel_error(ex.output_grad(x), vjp(ref, in, dy)), kTol) << "gradient into " << g.op(x).name;
}

// --- plain-loop references ---

// The plain-loop references the CUDA tests share (cpu_reference.hpp).
using reference::focal_loss;
using reference::layer_norm;
using reference::permute;
using reference::softmax;
using reference::upsample;
const auto matmul = reference::batched_matmul;

Vec conv3x3(const Dims& in, int64_t o, const Vec& x, const Vec& w, const Vec& bias) {
  const int64_t c = in[1], h = in[2], wd = in[3];
  Vec y(static_cast<size_t>(o * h * wd));
  for (int64_t oc = 0; oc < o; ++oc)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < wd; ++j) {
        double s = bias[static_cast<size_t>(oc)];
        for (int64_t ic = 0; ic < c; ++ic)
          for (int64_t u = 0; u < 3; ++u)
            for (int64_t v = 0; v < 3; ++v) {
              const int64_t yi = i + u - 1, xj = j + v - 1;
              if (yi >= 0 && yi < h && xj >= 0 && xj < wd)
                s += x[static_cast<size_t>((ic * h + yi) * wd + xj)] * w[static_cast<size_t>(((oc * c + ic) * 3 + u) * 3 + v)];
            }
        y[static_cast<size_t>((oc * h + i) * wd + j)] = s;
      }
  return y;
}

// --- layout ops ---

TEST(CpuRealOps, ReshapeOfAPlainTensorIsAViewBothWays) {
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({2, 3, 4}), 6, "pre");
  const int r = b.reshape(pre, {3, 2, 6}, "r");
  b.softmax_xent(b.dense(r, 3, "head"));
  check_unary(b.finish(), pre, r, [](const Vec& x) { return x; });
}

TEST(CpuRealOps, ReshapeOfABlockedConvOutput) {
  GraphBuilder b = builder();
  const int pre = b.conv(b.input({2, 3, 4, 4}), 16, 1, 1, 0, "pre");  // blocked channels
  const int r = b.reshape(pre, {2, 16, 16}, "r");
  b.softmax_xent(b.dense(r, 3, "head"));
  check_unary(b.finish(), pre, r, [](const Vec& x) { return x; });
}

TEST(CpuRealOps, ReshapeThatIsNotTheFirstGradientWriterAdds) {
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({2, 6}), 6, "pre");
  const int back = b.reshape(b.reshape(pre, {3, 4}, "r1"), {2, 6}, "r2");
  const int sum = b.add({back, pre}, "sum");  // writes pre's gradient first; r1 adds
  b.softmax_xent(b.dense(sum, 3, "head"));
  const Graph g = b.finish();
  cpu::CpuExecutable ex(g, Mode::train, true, cpu::Buffers::one_per_tensor);  // every tensor readable
  ex.step();
  Vec twice = to_double(ex.output_grad(sum));
  for (double& v : twice) v *= 2;
  EXPECT_LE(rel_error(ex.output_grad(pre), twice), kTol);
  EXPECT_LE(rel_error(ex.output(back), to_double(ex.output(pre))), kTol);
}

TEST(CpuRealOps, TransposeRank3) {
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({2, 3, 4}), 5, "pre");
  const int t = b.transpose(pre, {2, 0, 1}, "t");
  b.softmax_xent(b.dense(t, 3, "head"));
  check_unary(b.finish(), pre, t, [](const Vec& x) { return permute({2, 3, 5}, {2, 0, 1}, x); });
}

TEST(CpuRealOps, TransposeOfABlockedTensorToChannelsLast) {
  GraphBuilder b = builder();
  const int pre = b.conv(b.input({2, 3, 3, 3}), 16, 1, 1, 0, "pre");
  const int t = b.transpose(pre, {0, 2, 3, 1}, "t");
  b.softmax_xent(b.dense(b.reshape(t, {2, 9 * 16}, "flat"), 3, "head"));
  check_unary(b.finish(), pre, t, [](const Vec& x) { return permute({2, 16, 3, 3}, {0, 2, 3, 1}, x); });
}

TEST(CpuRealOps, NearestUpsample) {
  GraphBuilder b = builder();
  const int pre = b.conv(b.input({1, 3, 3, 3}), 16, 1, 1, 0, "pre");
  const int up = b.upsample(pre, 2, "up");
  b.softmax_xent(b.dense(up, 3, "head"));
  check_unary(b.finish(), pre, up, [](const Vec& x) { return upsample({1, 16, 3, 3}, 2, x); });
}

// --- attention ops ---

class CpuBatchedMatmul : public ::testing::TestWithParam<bool> {};

TEST_P(CpuBatchedMatmul, ForwardAndBothOperandGradients) {
  const bool tb = GetParam();
  GraphBuilder b = builder();
  const int a = b.dense(b.input({2, 3, 4}), 5, "a");                          // [2, 3, 5]
  const int w = tb ? b.dense(b.input({2, 4, 3}), 5, "b") : b.dense(b.input({2, 5, 3}), 4, "b");  // [2, 4, 5] or [2, 5, 4]
  const int mm = b.batched_matmul(a, w, tb, "mm");                            // [2, 3, 4]
  b.softmax_xent(b.dense(mm, 3, "head"));
  const Graph g = b.finish();
  cpu::CpuExecutable ex(g, Mode::train, true, cpu::Buffers::one_per_tensor);  // every tensor readable
  ex.step();
  const Dims da = g.dims_of(a), db = g.dims_of(w);
  const Vec va = to_double(ex.output(a)), vb = to_double(ex.output(w)), dy = to_double(ex.output_grad(mm));
  EXPECT_LE(rel_error(ex.output(mm), matmul(da, db, tb, va, vb)), kTol);
  EXPECT_LE(rel_error(ex.output_grad(a), vjp([&](const Vec& x) { return matmul(da, db, tb, x, vb); }, va, dy)), kTol);
  EXPECT_LE(rel_error(ex.output_grad(w), vjp([&](const Vec& x) { return matmul(da, db, tb, va, x); }, vb, dy)), kTol);
}

INSTANTIATE_TEST_SUITE_P(TransposeB, CpuBatchedMatmul, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "transposed" : "plain"; });

class CpuSoftmax : public ::testing::TestWithParam<bool> {};

TEST_P(CpuSoftmax, OverTheLastDim) {
  const bool causal = GetParam();
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({2, 4, 3}), 4, "pre");  // [2, 4, 4] scores
  const int s = b.softmax(pre, causal, "softmax");
  b.softmax_xent(b.dense(s, 3, "head"));
  const Graph g = b.finish();
  check_unary(g, pre, s, [&](const Vec& x) { return softmax({2, 4, 4}, causal, x); });
  if (causal) {  // future positions exactly zero
    cpu::CpuExecutable ex(g, Mode::infer);
    ex.step();
    const std::vector<float> y = ex.output(s);
    for (int64_t p = 0; p < 2; ++p)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = i + 1; j < 4; ++j) EXPECT_EQ(y[static_cast<size_t>((p * 4 + i) * 4 + j)], 0.f);
  }
}

INSTANTIATE_TEST_SUITE_P(Mask, CpuSoftmax, ::testing::Bool(), [](const auto& info) { return info.param ? "causal" : "full"; });

TEST(CpuRealOps, LayerNormAndItsScaleAndShift) {
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({3, 2, 4}), 6, "pre");
  const int ln = b.layer_norm(pre, "ln");
  b.softmax_xent(b.dense(ln, 3, "head"));
  const Graph g = b.finish();
  cpu::CpuExecutable ex(g, Mode::train, true, cpu::Buffers::one_per_tensor);  // every tensor readable
  const Vec gamma = to_double(ex.param("ln.gamma")), beta = to_double(ex.param("ln.beta"));
  ex.step();
  const Vec x = to_double(ex.output(pre)), dy = to_double(ex.output_grad(ln));
  EXPECT_LE(rel_error(ex.output(ln), layer_norm(6, x, gamma, beta)), kTol);
  EXPECT_LE(rel_error(ex.output_grad(pre), vjp([&](const Vec& v) { return layer_norm(6, v, gamma, beta); }, x, dy)), kTol);
  EXPECT_LE(rel_error(ex.param_grad("ln.gamma"), vjp([&](const Vec& v) { return layer_norm(6, x, v, beta); }, gamma, dy)), kTol);
  EXPECT_LE(rel_error(ex.param_grad("ln.beta"), vjp([&](const Vec& v) { return layer_norm(6, x, gamma, v); }, beta, dy)), kTol);
}

// --- losses and merges of the detector ---

TEST(CpuRealOps, FocalLossAndItsGradient) {
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({2, 3, 4}), 5, "pre");  // [N 2, anchors 3, K 5]
  b.focal_loss(pre);
  const Graph g = b.finish();
  cpu::CpuExecutable ex(g, Mode::train, true, cpu::Buffers::one_per_tensor);  // every tensor readable
  ex.step();
  const std::vector<int32_t> target = ex.labels();
  ASSERT_EQ(target.size(), 30u);
  const Vec x = to_double(ex.output(pre));
  const double want = focal_loss(x, target, 6);
  EXPECT_NEAR(ex.loss(), want, kTol * std::abs(want));
  const Vec grad = vjp([&](const Vec& v) { return Vec{focal_loss(v, target, 6)}; }, x, {1.0});
  EXPECT_LE(rel_error(ex.output_grad(pre), grad), kTol);
}

TEST(CpuRealOps, ConcatOfRank3AlongAnchors) {
  GraphBuilder b = builder();
  const int p = b.dense(b.input({2, 3, 4}), 5, "p");
  const int q = b.dense(b.input({2, 2, 4}), 5, "q");
  const int cat = b.concat({p, q}, "anchors");  // [2, 5, 5]
  b.focal_loss(cat);
  const Graph g = b.finish();
  cpu::CpuExecutable ex(g, Mode::train, true, cpu::Buffers::one_per_tensor);  // every tensor readable
  ex.step();
  const Vec vp = to_double(ex.output(p)), vq = to_double(ex.output(q));
  Vec want, dp, dq;
  const Vec dy = to_double(ex.output_grad(cat));
  for (size_t n = 0; n < 2; ++n) {
    want.insert(want.end(), vp.begin() + static_cast<long>(n * 15), vp.begin() + static_cast<long>(n * 15 + 15));
    want.insert(want.end(), vq.begin() + static_cast<long>(n * 10), vq.begin() + static_cast<long>(n * 10 + 10));
    dp.insert(dp.end(), dy.begin() + static_cast<long>(n * 25), dy.begin() + static_cast<long>(n * 25 + 15));
    dq.insert(dq.end(), dy.begin() + static_cast<long>(n * 25 + 15), dy.begin() + static_cast<long>(n * 25 + 25));
  }
  EXPECT_LE(rel_error(ex.output(cat), want), kTol);
  EXPECT_LE(rel_error(ex.output_grad(p), dp), kTol);
  EXPECT_LE(rel_error(ex.output_grad(q), dq), kTol);
}

// --- tied parameters ---

// The transformer's tying: one table for the source and target embeddings and the output
// projection. Its gradient is the sum of the three uses' and it is updated once.
TEST(CpuTiedParams, EmbeddingTableSharedWithTargetEmbeddingAndProjection) {
  constexpr int64_t vocab = 7, dim = 5, seq = 4, batch = 2;
  GraphBuilder b("test", "tied", batch, DType::f32, Optimizer::sgd);
  const int src = b.token_input(seq), tgt = b.token_input(seq);
  const int e1 = b.embedding(src, vocab, dim, "emb");
  const int e2 = b.embedding(tgt, vocab, dim, "tgt_emb");
  b.share_params(e2, e1);
  const int sum = b.add({e1, e2}, "sum");
  const int proj = b.dense(sum, vocab, "proj", false);
  b.share_params(proj, e1);
  b.softmax_xent(proj);
  const Graph g = b.finish();
  cpu::CpuExecutable ex(g, Mode::train, true, cpu::Buffers::one_per_tensor);  // every tensor readable
  const Vec table = to_double(ex.param("emb.table"));
  EXPECT_EQ(ex.param("proj.weight"), ex.param("emb.table"));
  ex.step();

  // Projection: dW[v][c] = sum over rows of dlogits[r][v] x[r][c]; embeddings: scatter-add.
  Vec want(static_cast<size_t>(vocab * dim), 0.0);
  const Vec dlogits = to_double(ex.output_grad(proj)), x = to_double(ex.output(sum));
  for (int64_t r = 0; r < seq * batch; ++r)
    for (int64_t v = 0; v < vocab; ++v)
      for (int64_t c = 0; c < dim; ++c)
        want[static_cast<size_t>(v * dim + c)] += dlogits[static_cast<size_t>(r * vocab + v)] * x[static_cast<size_t>(r * dim + c)];
  for (int e : {e1, e2}) {
    const std::vector<float> ids = ex.output(g.op(e).inputs[0]);
    const Vec dy = to_double(ex.output_grad(e));
    for (size_t t = 0; t < ids.size(); ++t)
      for (int64_t c = 0; c < dim; ++c)
        want[static_cast<size_t>(static_cast<int64_t>(ids[t]) * dim + c)] += dy[t * static_cast<size_t>(dim) + static_cast<size_t>(c)];
  }
  const std::vector<float> grad = ex.param_grad("emb.table");
  EXPECT_LE(rel_error(grad, want), kTol);
  EXPECT_EQ(ex.param_grad("proj.weight"), grad);
  EXPECT_EQ(ex.param_grad("tgt_emb.table"), grad);
  // One SGD step (learning rate 0.01) with the summed gradient, not one per use.
  Vec stepped = table;
  for (size_t k = 0; k < stepped.size(); ++k) stepped[k] -= 0.01 * grad[k];
  EXPECT_LE(rel_error(ex.param("emb.table"), stepped), 1e-6);
}

// RetinaNet's tying: one head convolution applied at two levels of different sizes.
TEST(CpuTiedParams, ConvolutionSharedAcrossLevels) {
  GraphBuilder b = builder();
  const int p3 = b.conv(b.input({1, 3, 6, 6}), 16, 1, 1, 0, "p3");
  const int p4 = b.conv(p3, 16, 3, 2, 1, "p4");  // [1, 16, 3, 3]
  const int h3 = b.conv_bias(p3, 8, 3, 1, 1, "head.p3");
  const int h4 = b.conv_bias(p4, 8, 3, 1, 1, "head.p4");
  b.share_params(h4, h3);
  const int merged = b.add({b.global_avg_pool(h3, "gap3"), b.global_avg_pool(h4, "gap4")}, "merge");
  b.softmax_xent(b.dense(merged, 3, "cls"));
  const Graph g = b.finish();
  cpu::CpuExecutable ex(g, Mode::train, true, cpu::Buffers::one_per_tensor);  // reads both heads' gradients
  const Vec w = to_double(ex.param("head.p3.weight")), bias = to_double(ex.param("head.p3.bias"));
  ex.step();
  Vec dw(w.size(), 0.0), db(bias.size(), 0.0);
  for (int level : {p3, p4}) {
    const int head = level == p3 ? h3 : h4;
    const Dims in = g.dims_of(level);
    const Vec x = to_double(ex.output(level)), dy = to_double(ex.output_grad(head));
    EXPECT_LE(rel_error(ex.output(head), conv3x3(in, 8, x, w, bias)), kTol) << g.op(head).name;
    const Vec gw = vjp([&](const Vec& v) { return conv3x3(in, 8, x, v, bias); }, w, dy);
    const Vec gb = vjp([&](const Vec& v) { return conv3x3(in, 8, x, w, v); }, bias, dy);
    for (size_t k = 0; k < dw.size(); ++k) dw[k] += gw[k];
    for (size_t k = 0; k < db.size(); ++k) db[k] += gb[k];
  }
  EXPECT_LE(rel_error(ex.param_grad("head.p3.weight"), dw), kTol);
  EXPECT_LE(rel_error(ex.param_grad("head.p4.bias"), db), kTol);
}

// --- the six real models ---

struct RealModel {
  std::string name;
  std::function<Graph()> build;
};

class CpuRealModels : public ::testing::TestWithParam<RealModel> {};

// One step in each mode, with buffers shared by lifetime (as benchmarks run) and with one
// buffer per tensor: views, concats, transposes and skip connections must not make a shared
// buffer be overwritten while still needed, so both give the same numbers bit for bit.
TEST_P(CpuRealModels, OneTrainingAndOneInferenceStepAtBatch1) {
  const Graph g = GetParam().build();
  const int logits = g.op(g.loss_op()).inputs.at(0);
  for (Mode m : {Mode::train, Mode::infer}) {
    cpu::CpuExecutable ex(g, m), own(g, m, true, cpu::Buffers::one_per_tensor);
    ex.step();
    own.step();
    if (m == Mode::train) {
      EXPECT_TRUE(std::isfinite(ex.loss())) << g.name;
      EXPECT_EQ(ex.loss(), own.loss()) << g.name;
      for (const Op& op : g.ops) {
        if (op.shares_params_with >= 0) continue;
        for (const Param& p : op.params) EXPECT_EQ(ex.param_grad(p.name), own.param_grad(p.name)) << g.name << " " << p.name;
      }
    } else {
      EXPECT_EQ(ex.output(logits), own.output(logits)) << g.name;
    }
  }
}

// CNNs at 64x64 to keep the test fast; the transformer at its size (sequence 128).
INSTANTIATE_TEST_SUITE_P(
    Models, CpuRealModels,
    ::testing::Values(RealModel{"resnet50", [] { return models::resnet50(1, 64, DType::f32); }},
                      RealModel{"densenet121", [] { return models::densenet121(1, 64, DType::f32); }},
                      RealModel{"mobilenet", [] { return models::mobilenet_v1(1, 64, DType::f32); }},
                      RealModel{"squeezenet", [] { return models::squeezenet11(1, 64, DType::f32); }},
                      RealModel{"retinanet", [] { return models::retinanet(1, 64, DType::f32); }},
                      RealModel{"transformer", [] { return models::transformer(1, DType::f32); }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace paradnn
