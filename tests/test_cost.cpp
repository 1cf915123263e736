// FLOP, byte and parameter counts against hand counts on small shapes.
#include <gtest/gtest.h>

#include "models/catalog.hpp"
#include "paradnn/cost.hpp"
#include "paradnn/graph_builder.hpp"

using namespace paradnn;

namespace {
Point point(const std::string& family, std::map<std::string, Value> hp, int64_t batch, Mode m = Mode::train) {
  Point p;
  p.family = family;
  for (const FamilySpec& f : models::catalog())
    if (f.name == family)
      for (const ParamSpec& s : f.params) p.hp[s.name] = s.default_value;
  for (auto& [k, v] : hp) p.hp[k] = v;
  p.batch = batch;
  p.mode = m;
  return p;
}

double sum_dense_fwd(const Graph& g) {
  double f = 0;
  for (const Op& o : g.ops)
    if (o.kind == OpKind::dense) f += o.cost.fwd_flops;
  return f;
}
}  // namespace

TEST(Cost, FcWeightFlopsMatchParaDnnFormula) {
  const int64_t L = 3, N = 16, I = 20, O = 10, B = 4;
  const Graph g = models::build_fc(point("fc", {{"layers", L}, {"nodes", N}, {"input", I}, {"output", O}}, B));
  // 2 x (I*N + (L-1)*N^2 + N*O) per example, plus one bias add per output element.
  const double weight = 2.0 * B * (I * N + (L - 1) * N * N + N * O);
  const double bias = static_cast<double>(B) * (L * N + O);
  EXPECT_DOUBLE_EQ(sum_dense_fwd(g), weight + bias);
  EXPECT_EQ(g.param_count(), I * N + N + (L - 1) * (N * N + N) + N * O + O);
  // The first layer needs no data gradient; every layer needs weight gradients.
  const Op& fc1 = g.ops[1];
  EXPECT_EQ(fc1.name, "fc1");
  EXPECT_DOUBLE_EQ(fc1.cost.bwd_data_flops, 0);
  EXPECT_DOUBLE_EQ(fc1.cost.bwd_weight_flops, 2.0 * B * I * N + B * N);
  // Dense bytes: x, W, y forward at 4 bytes each.
  EXPECT_DOUBLE_EQ(fc1.cost.fwd_bytes, 4.0 * (B * I + I * N + N + B * N));
  // SGD update: 2 flops and 12 bytes per weight.
  EXPECT_DOUBLE_EQ(fc1.cost.update_flops, 2.0 * (I * N + N));
  EXPECT_DOUBLE_EQ(fc1.cost.update_bytes, 12.0 * (I * N + N));
}

TEST(Cost, ConvFlopsAndShapes) {
  GraphBuilder b("t", "t", 2, DType::f32, Optimizer::sgd);
  const int x = b.input({2, 3, 9, 9});
  const int c = b.conv(x, 8, 3, 2, 1, "c");
  const int c2 = b.conv(c, 8, 3, 1, 1, "c2");
  const Graph g = b.finish();
  EXPECT_EQ(g.dims_of(c), (Dims{2, 8, 5, 5}));
  const double macs = 2.0 * 8 * 5 * 5 * 3 * 3 * 3;
  EXPECT_DOUBLE_EQ(g.op(c).cost.fwd_flops, 2 * macs);
  EXPECT_DOUBLE_EQ(g.op(c).cost.bwd_data_flops, 0);  // input is data
  EXPECT_DOUBLE_EQ(g.op(c).cost.bwd_weight_flops, 2 * macs);
  EXPECT_DOUBLE_EQ(g.op(c2).cost.bwd_data_flops, 2.0 * (2 * 8 * 5 * 5) * 8 * 9);
  EXPECT_EQ(g.param_count(), 8 * 3 * 9 + 8 * 8 * 9);
}

TEST(Cost, CnnShapesFollowResNet) {
  const Graph g = models::build_cnn(point("cnn", {{"blocks", 1}, {"filters", 16}, {"image", 32}, {"output", 10}}, 2));
  // stem 32 -> 16 (7x7/2) -> 8 (pool 3x3/2); groups at 8, 4, 2, 1; final 128 channels.
  int pool = -1;
  for (size_t i = 0; i < g.ops.size(); ++i)
    if (g.ops[i].name == "pool") pool = static_cast<int>(i);
  ASSERT_GE(pool, 0);
  EXPECT_EQ(g.ops[g.ops[pool].inputs[0]].out, (Dims{2, 128, 1, 1}));
  // Basic ResNet, one block per group: stem conv + 4 x (2 convs + projection) = 13 convs.
  int convs = 0;
  for (const Op& o : g.ops) convs += o.kind == OpKind::conv;
  EXPECT_EQ(convs, 13);
  const Graph bn = models::build_cnn(point("cnn", {{"blocks", 2}, {"filters", 16}, {"image", 64}, {"bottleneck", 1}}, 2));
  convs = 0;
  for (const Op& o : bn.ops) convs += o.kind == OpKind::conv;
  EXPECT_EQ(convs, 1 + 4 * (2 * 3 + 1));
  EXPECT_EQ(bn.ops[bn.ops.size() - 2].params[0].dims, (Dims{1000, 512}));  // 4 x 8F channels into the classifier
}

TEST(Cost, RnnHandCount) {
  const int64_t T = 5, B = 3, E = 8, V = 11;
  const Graph g = models::build_rnn(point("rnn", {{"cell", std::string("lstm")}, {"layers", 2}, {"embed", E},
                                                   {"seq_len", T}, {"vocab", V}}, B));
  const Op& r = g.ops[2];
  ASSERT_EQ(r.kind, OpKind::rnn);
  const double gemm_per_layer = 2.0 * T * B * 4 * E * (E + E);
  const double elt = 13.0 * T * B * E;
  EXPECT_DOUBLE_EQ(r.cost.fwd_flops, 2 * (gemm_per_layer + elt));
  EXPECT_EQ(g.param_count(), V * E + 2 * (4 * E * E * 2 + 4 * E) + E * V + V);
  // Projection runs on every step: [T*B, E] x [E, V].
  EXPECT_DOUBLE_EQ(g.ops[3].cost.fwd_flops, 2.0 * T * B * E * V + T * B * V);
}

TEST(Cost, TrainIsForwardPlusBackwardPlusUpdate) {
  const Graph g = models::build_fc(point("fc", {{"layers", 2}, {"nodes", 32}}, 8));
  double f = 0, b = 0, u = 0;
  for (const Op& o : g.ops) {
    f += o.cost.fwd_flops;
    b += o.cost.bwd_data_flops + o.cost.bwd_weight_flops;
    u += o.cost.update_flops;
  }
  EXPECT_DOUBLE_EQ(g.totals(Mode::infer).flops, f);
  EXPECT_DOUBLE_EQ(g.totals(Mode::train).flops, f + b + u);
  EXPECT_GT(g.memory(Mode::train).total(), g.memory(Mode::infer).total());
  EXPECT_DOUBLE_EQ(g.memory(Mode::train).gradients, 4.0 * g.param_count());
}

TEST(Cost, GradientsInBackwardOrder) {
  const Graph g = models::build_fc(point("fc", {{"layers", 2}, {"nodes", 32}}, 8));
  const auto grads = g.gradients_in_backward_order();
  ASSERT_EQ(grads.size(), 6u);
  EXPECT_EQ(grads.front().name, "classifier.weight");
  EXPECT_EQ(grads.back().name, "fc1.bias");
}
