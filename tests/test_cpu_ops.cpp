// Every op the CPU backend runs, checked on small shapes against the plain-loop reference
// (cpu_reference.hpp): forward values of every op, the loss, the gradient each op passes
// to its input, and every parameter gradient, after one real training step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "cpu_reference.hpp"
#include "paradnn/graph_builder.hpp"
#include "platforms/cpu/probes/cpu_platform.hpp"
#include "platforms/cpu/backend/onednn_executable.hpp"

namespace paradnn {
namespace {

using reference::Params;
using reference::Values;
using Vec = std::vector<double>;

using reference::to_double;

double max_abs(const Vec& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

void expect_close(const std::vector<float>& got, const Vec& want, double rel, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double scale = std::max(max_abs(want), 1e-3);
  double worst = 0;
  size_t at = 0;
  for (size_t k = 0; k < got.size(); ++k)
    if (std::abs(got[k] - want[k]) > worst) worst = std::abs(got[k] - want[k]), at = k;
  EXPECT_LE(worst, rel * scale) << what << ": element " << at << " is " << got[at] << ", reference " << want[at];
}

// Central differences of the reference loss with respect to each element of `x`.
Vec numeric_gradient(Vec& x, const std::function<double()>& loss) { return reference::central_differences(x, loss, 1e-5); }

bool fused_into_next(const Graph& g, int i) {
  int users = 0, relu = 0;
  for (const Op& op : g.ops)
    for (int x : op.inputs)
      if (x == i) ++users, relu += op.kind == OpKind::relu;
  return users == 1 && relu == 1;
}

// One training step of `g`; everything after op `pre` is checked against the reference.
void check_step(const Graph& g, int pre, double fwd_tol = 1e-4, double grad_tol = 2e-3) {
  cpu::CpuExecutable ex(g, Mode::train, true, cpu::Buffers::one_per_tensor);  // every tensor readable
  Params params;
  for (size_t i = static_cast<size_t>(pre) + 1; i < g.ops.size(); ++i)
    for (const Param& p : g.ops[i].params) params[p.name] = to_double(ex.param(p.name));
  ex.step();
  const std::vector<int32_t> labels = ex.labels();

  Values values;
  values[pre] = to_double(ex.output(pre));
  for (size_t i = static_cast<size_t>(pre) + 1; i < g.ops.size(); ++i)
    for (int x : g.ops[i].inputs)
      if (x < pre) values[x] = to_double(ex.output(x));
  Values ref = values;
  const double loss = reference::evaluate(g, pre, ref, params, labels);
  EXPECT_NEAR(ex.loss(), loss, fwd_tol * std::max(1.0, std::abs(loss)));
  for (int i = pre + 1; i < g.loss_op(); ++i)
    if (!fused_into_next(g, i)) expect_close(ex.output(i), ref.at(i), fwd_tol, "forward of " + g.op(i).name);

  auto loss_of = [&] {
    Values v = values;
    return reference::evaluate(g, pre, v, params, labels);
  };
  if (g.op(pre).kind != OpKind::input && g.op(pre).kind != OpKind::token_input)
    expect_close(ex.output_grad(pre), numeric_gradient(values[pre], loss_of), grad_tol, "gradient into " + g.op(pre).name);
  for (auto& [name, value] : params) expect_close(ex.param_grad(name), numeric_gradient(value, loss_of), grad_tol, "gradient of " + name);
}

GraphBuilder builder(DType t = DType::f32) { return GraphBuilder("test", "ops", 0, t, Optimizer::sgd); }

TEST(CpuOps, DenseWithFusedReluAndBias) {
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({4, 6}), 5, "pre");
  b.softmax_xent(b.dense(b.relu(b.dense(pre, 7, "fc"), "fc.relu"), 3, "head"));
  check_step(b.finish(), pre);
}

TEST(CpuOps, DenseOverSequence) {
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({3, 2, 4}), 5, "pre");
  b.softmax_xent(b.dense(b.tanh(pre, "act"), 6, "head"));
  check_step(b.finish(), pre);
}

TEST(CpuOps, ConvBatchNormReluMaxPool) {
  GraphBuilder b = builder();
  const int pre = b.conv(b.input({2, 3, 6, 6}), 4, 1, 1, 0, "pre");
  const int y = b.relu(b.batch_norm(b.conv(pre, 5, 3, 1, 1, "conv"), "bn"), "relu");
  b.softmax_xent(b.dense(b.max_pool(y, 3, 2, 1, "pool"), 3, "head"));
  check_step(b.finish(), pre);
}

TEST(CpuOps, StridedDepthwiseConvAndAveragePool) {
  GraphBuilder b = builder();
  const int pre = b.conv(b.input({2, 3, 7, 7}), 4, 1, 1, 0, "pre");
  const int y = b.conv(pre, 4, 3, 2, 1, "depthwise", 4);
  b.softmax_xent(b.dense(b.avg_pool(b.relu(y, "relu"), 2, 2, 0, "pool"), 3, "head"));
  check_step(b.finish(), pre);
}

TEST(CpuOps, ResidualAddAndConcatFanOut) {
  GraphBuilder b = builder();
  const int pre = b.conv(b.input({2, 4, 5, 5}), 8, 1, 1, 0, "pre");
  const int path = b.batch_norm(b.conv(pre, 8, 3, 1, 1, "conv"), "bn");
  const int sum = b.relu(b.add({path, pre}, "add"), "add.relu");
  const int cat = b.concat({sum, b.conv(pre, 3, 1, 1, 0, "side")}, "cat");
  b.softmax_xent(b.dense(b.global_avg_pool(cat, "gap"), 3, "head"));
  check_step(b.finish(), pre);
}

TEST(CpuOps, UnfusedActivations) {
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({4, 6}), 6, "pre");
  const int r = b.relu(pre, "relu");  // pre also feeds the add: the ReLU cannot be fused
  const int y = b.add({b.gelu(r, "gelu"), pre}, "add");
  b.softmax_xent(b.dense(y, 3, "head"));
  check_step(b.finish(), pre);
}

class CpuRnn : public ::testing::TestWithParam<RnnCell> {};

TEST_P(CpuRnn, TwoLayersOverASequence) {
  GraphBuilder b = builder();
  const int pre = b.dense(b.input({3, 2, 4}), 4, "pre");
  b.softmax_xent(b.dense(b.rnn(pre, GetParam(), 2, 4, "rnn"), 5, "head"));
  check_step(b.finish(), pre);
}

INSTANTIATE_TEST_SUITE_P(Cells, CpuRnn, ::testing::Values(RnnCell::rnn, RnnCell::lstm, RnnCell::gru),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(CpuOps, EmbeddingTableGradient) {
  GraphBuilder b("test", "emb", 3, DType::f32, Optimizer::sgd);
  b.softmax_xent(b.dense(b.embedding(b.token_input(4), 11, 5, "emb"), 6, "head"));
  check_step(b.finish(), 0);  // op 0 is the token ids: no input gradient to check
}

TEST(CpuOps, Bf16MatchesReferenceLoosely) {
  if (const std::string why = cpu::dtype_unsupported_reason(DType::bf16, cpu::cpu_features()); !why.empty())
    GTEST_SKIP() << why;
  GraphBuilder b = builder(DType::bf16);
  const int pre = b.conv(b.input({2, 3, 6, 6}), 16, 1, 1, 0, "pre");
  const int y = b.relu(b.batch_norm(b.conv(pre, 16, 3, 1, 1, "conv"), "bn"), "relu");
  b.softmax_xent(b.dense(y, 3, "head"));
  // bf16 keeps 8 bits of mantissa: values to about 1%, gradients to a few percent.
  check_step(b.finish(), pre, 3e-2, 6e-2);
}

TEST(CpuOps, Bf16LstmTrainsAndInfers) {
  if (const std::string why = cpu::dtype_unsupported_reason(DType::bf16, cpu::cpu_features()); !why.empty())
    GTEST_SKIP() << why;
  GraphBuilder b = builder(DType::bf16);
  const int pre = b.dense(b.input({3, 2, 16}), 16, "pre");
  b.softmax_xent(b.dense(b.rnn(pre, RnnCell::lstm, 2, 16, "rnn"), 5, "head"));
  const Graph g = b.finish();
  cpu::CpuExecutable(g, Mode::infer).step();
  check_step(g, pre, 3e-2, 6e-2);
}

}  // namespace
}  // namespace paradnn
