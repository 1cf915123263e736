// The buffer planner (paradnn/memory_plan.hpp, paradnn/arena_plan.hpp, the CPU runtime's
// BufferPlan): no two buffers live at once overlap in the arena, every read a step's calls make falls inside
// the lifetime planned for it, and sharing storage changes no result, on random graphs and
// on the real models.
#include <gtest/gtest.h>

#include <random>

#include "models/real/real_models.hpp"
#include "paradnn/graph_builder.hpp"
#include "paradnn/arena_plan.hpp"
#include "paradnn/memory_plan.hpp"
#include "platforms/cpu/backend/onednn_executable.hpp"

namespace paradnn {
namespace {

// A random differentiable graph on [N, C, H, W] tensors: each op reads one or two earlier
// tensors (so tensors fan out to several readers, some read only forward, some in backward
// too), mixing ops whose backward reads their input (conv, batch norm, gelu), their output
// (relu, tanh) or neither (add, concat + conv back to C channels, pools, reshapes).
Graph random_graph(uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int64_t c = 4, hw = 6;
  GraphBuilder b("cnn", "random" + std::to_string(seed), 2, DType::f32, Optimizer::momentum);
  std::vector<int> xs = {b.conv(b.input({2, c, hw, hw}), c, 3, 1, 1, "stem")};
  auto pick = [&] { return xs[std::uniform_int_distribution<size_t>(0, xs.size() - 1)(rng)]; };
  for (int k = 0; k < 14; ++k) {
    const std::string name = "op" + std::to_string(k);
    const int x = pick();
    switch (std::uniform_int_distribution<int>(0, 8)(rng)) {
      case 0: xs.push_back(b.conv(x, c, 3, 1, 1, name)); break;
      case 1: xs.push_back(b.batch_norm(x, name)); break;
      case 2: xs.push_back(b.relu(x, name)); break;
      case 3: xs.push_back(b.tanh(x, name)); break;
      case 4: xs.push_back(b.gelu(x, name)); break;
      case 5: xs.push_back(b.add({x, pick()}, name)); break;
      case 6: xs.push_back(b.conv(b.concat({x, pick()}, name + "_cat"), c, 1, 1, 0, name)); break;
      case 7: xs.push_back(b.avg_pool(x, 3, 1, 1, name)); break;
      default: xs.push_back(b.reshape(b.reshape(x, {2, c * hw * hw}, name + "_flat"), {2, c, hw, hw}, name)); break;
    }
  }
  int sum = xs.back();
  for (int x : {xs[2], xs[7]}) sum = b.add({sum, x}, "join" + std::to_string(x));  // early tensors live long
  b.softmax_xent(b.dense(b.global_avg_pool(sum, "gap"), 5, "fc"));
  return b.finish();
}

std::vector<std::pair<std::string, Graph>> real_models_small() {
  return {{"resnet50", models::resnet50(2, 64, DType::f32)},
          {"densenet121", models::densenet121(1, 64, DType::f32)},
          {"mobilenet", models::mobilenet_v1(1, 64, DType::f32)},
          {"squeezenet", models::squeezenet11(1, 64, DType::f32)},
          {"retinanet", models::retinanet(1, 128, DType::f32)},
          {"transformer", models::transformer(1, DType::f32)}};
}

void expect_disjoint(const ArenaLayout& a, const std::string& what) {
  for (size_t j = 0; j < a.requests.size(); ++j) {
    EXPECT_LE(a.offsets[j] + a.requests[j].bytes, a.bytes) << what;
    EXPECT_EQ(a.offsets[j] % 64, 0u) << what;
    for (size_t k = j + 1; k < a.requests.size(); ++k) {
      if (!a.requests[j].live.overlaps(a.requests[k].live)) continue;
      const bool apart = a.offsets[j] + a.requests[j].bytes <= a.offsets[k] || a.offsets[k] + a.requests[k].bytes <= a.offsets[j];
      EXPECT_TRUE(apart) << what << ": buffers " << j << " and " << k << " are live at once and overlap";
    }
  }
}

TEST(ArenaLayout, NeverOverlapsBuffersLiveAtOnce) {
  std::mt19937_64 rng(3);
  std::vector<BufferRequest> r;
  double live_peak = 0;
  for (int k = 0; k < 1500; ++k) {
    const int lo = std::uniform_int_distribution<int>(0, 300)(rng);
    const int len = std::uniform_int_distribution<int>(0, 40)(rng);
    r.push_back({std::uniform_int_distribution<size_t>(1, 1 << 20)(rng), {lo, lo + len}});
  }
  for (int t = 0; t <= 340; ++t) {  // the most bytes live at one time: no layout can be smaller
    double live = 0;
    for (const BufferRequest& b : r) live += b.live.lo <= t && t <= b.live.hi ? static_cast<double>(b.bytes) : 0;
    live_peak = std::max(live_peak, live);
  }
  const ArenaLayout a = lay_out(r);
  expect_disjoint(a, "random intervals");
  EXPECT_GE(static_cast<double>(a.bytes), live_peak);
  EXPECT_LT(static_cast<double>(a.bytes), 1.25 * live_peak) << "greedy by size should come close to the live peak";
}

// Each tensor's interval covers every read the op table says its readers make: forward
// reads at the reader's forward time, backward reads at the reader's backward time (through
// reshape views), and its gradient is live from its last reader's backward to its own.
TEST(MemoryPlan, LifetimesCoverEveryPlannedRead) {
  std::vector<std::pair<std::string, Graph>> graphs = real_models_small();
  for (uint64_t s = 0; s < 20; ++s) graphs.push_back({"random" + std::to_string(s), random_graph(s)});
  for (const auto& [name, g] : graphs) {
    const int n = static_cast<int>(g.ops.size());
    std::vector<int> holder(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) holder[static_cast<size_t>(i)] = i;
    const TensorLifetimes life = tensor_lifetimes(g, Mode::train, holder);
    const StepTimeline t(n, Mode::train);
    // A reshape's readers read its input's storage.
    auto storage = [&](int x) {
      while (g.op(x).kind == OpKind::reshape) x = g.op(x).inputs.at(0);
      return static_cast<size_t>(x);
    };
    auto covers = [](Interval v, int time) { return v.lo <= time && time <= v.hi; };
    for (int i = 0; i < n; ++i) {
      const Op& op = g.op(i);
      if (backward_reads_output(op.kind)) {
        EXPECT_TRUE(covers(life.output[storage(i)], t.bwd(i))) << name << " " << op.name;
      }
      if (op.kind == OpKind::reshape) continue;
      for (int x : op.inputs) {
        EXPECT_TRUE(covers(life.output[storage(x)], t.fwd(i))) << name << " " << op.name;
        if (backward_reads_inputs(op.kind)) {
          EXPECT_TRUE(covers(life.output[storage(x)], t.bwd(i))) << name << " " << op.name;
        }
        EXPECT_TRUE(covers(life.gradient[storage(x)], t.bwd(i))) << name << ": " << op.name << " writes its input's gradient";
        EXPECT_TRUE(covers(life.gradient[storage(x)], t.bwd(static_cast<int>(storage(x))))) << name << " " << op.name;
      }
    }
  }
}

// What the runtime builds: no slot shared by buffers live at once, every call's buffers
// live when it runs (Net::finalize checks it and throws otherwise; here it is asserted
// directly), and steps bit for bit those of one buffer per tensor.
void expect_plan_changes_nothing(const Graph& g, const std::string& name) {
  cpu::CpuExecutable shared(g, Mode::train), own(g, Mode::train, true, cpu::Buffers::one_per_tensor);
  const cpu::BufferPlan& plan = shared.net().buffer_plan();
  ASSERT_NE(plan.layout(), nullptr);
  expect_disjoint(*plan.layout(), name);
  EXPECT_TRUE(plan.misuses(shared.net().calls()).empty()) << name << ": " << plan.misuses(shared.net().calls()).front();
  shared.step(), own.step();
  EXPECT_EQ(shared.loss(), own.loss()) << name;
  for (const Op& op : g.ops) {
    if (op.shares_params_with >= 0) continue;
    for (const Param& p : op.params) EXPECT_EQ(shared.param_grad(p.name), own.param_grad(p.name)) << name << " " << p.name;
  }
  cpu::CpuExecutable shared_infer(g, Mode::infer), own_infer(g, Mode::infer, true, cpu::Buffers::one_per_tensor);
  shared_infer.step(), own_infer.step();
  const int logits = g.op(g.loss_op()).inputs.at(0);
  EXPECT_EQ(shared_infer.output(logits), own_infer.output(logits)) << name;
}

TEST(BufferPlan, SharedStorageChangesNoStepOfRandomGraphs) {
  for (uint64_t s = 0; s < 12; ++s) expect_plan_changes_nothing(random_graph(s), "random" + std::to_string(s));
}

TEST(BufferPlan, SharedStorageChangesNoStepOfTheRealModels) {
  for (const auto& [name, g] : real_models_small()) expect_plan_changes_nothing(g, name);
}

// A call that reads a buffer after the plan let another take its storage is caught: the
// check is not vacuous. Op 1's output, read by op 2's forward only, is handed out for its
// planned lifetime; a backward call of op 2 reading it is outside it.
TEST(BufferPlan, CatchesAReadOutsideThePlannedLifetime) {
  GraphBuilder b("fc", "t", 4, DType::f32, Optimizer::sgd);
  const int x = b.input({4, 8});
  const int h = b.dense(x, 8, "fc1");
  const int y = b.add({h, h}, "twice");
  b.softmax_xent(b.dense(y, 3, "fc2"));
  const Graph g = b.finish();
  cpu::CpuExecutable ex(g, Mode::train);
  ASSERT_TRUE(ex.net().buffer_plan().misuses(ex.net().calls()).empty());
  cpu::Net& net = ex.net();
  const dnnl::memory y_twice = net.output(y);  // the add's output: fc2 reads it in its backward, so live until then
  cpu::Lowering& ctx = net.lowering();
  ctx.add_kernel(h, Phase::bwd, "test:late_read", [] {}, {y_twice});  // fc1's backward comes after fc2's
  const auto bad = net.buffer_plan().misuses(net.calls());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad.front().find("test:late_read"), std::string::npos) << bad.front();
}

// The estimate lays out the same tensors as the runtime: their arenas agree within 10% at
// sizes where activations dominate (the runtime adds layout conversions, weight copies for
// backward-data and blocked-layout padding the graph does not see, which matter only for
// small images).
TEST(BufferPlan, EstimateFollowsTheRuntimePlan) {
  const std::vector<std::pair<std::string, Graph>> models = {
      {"resnet50", models::resnet50(2, 224, DType::f32)},     {"densenet121", models::densenet121(2, 224, DType::f32)},
      {"mobilenet", models::mobilenet_v1(4, 224, DType::f32)}, {"squeezenet", models::squeezenet11(4, 224, DType::f32)},
      {"retinanet", models::retinanet(1, 384, DType::f32)}};
  for (const auto& [name, g] : models)
    for (Mode m : {Mode::train, Mode::infer}) {
      cpu::CpuExecutable ex(g, m);  // built, not run: the arena is allocated but never touched
      const double runtime = ex.net().buffer_plan().arena_bytes();
      double own = 0;  // inputs and the loss keep buffers of their own in both
      for (const Op& op : g.ops)
        if (op.kind == OpKind::input || op.kind == OpKind::softmax_xent || op.kind == OpKind::focal_loss) own += op.cost.output_bytes;
      const double estimate = g.memory(m).activations - own;
      EXPECT_NEAR(estimate / runtime, 1.0, 0.10) << name << " " << to_string(m) << ": estimate " << estimate / 1e6
                                                 << " MB, runtime " << runtime / 1e6 << " MB";
    }
}

}  // namespace
}  // namespace paradnn
