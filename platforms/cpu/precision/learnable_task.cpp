#include "platforms/cpu/precision/learnable_task.hpp"

#include <algorithm>
#include <stdexcept>

#include "platforms/cpu/precision/calibration.hpp"
#include "platforms/cpu/precision/inference_model.hpp"

namespace paradnn::cpu {

std::unique_ptr<models::Task> make_task(const Dims& input, int64_t classes) {
  if (input.size() == 2) return std::make_unique<models::MixtureTask>(input[1], classes, 77);
  if (input.size() == 4) return std::make_unique<ShapesTask>(input[1], input[2], input[3], classes);
  throw std::invalid_argument("no learnable task for an input of rank " + std::to_string(input.size()) +
                              " (FC [N, F] and CNN [N, C, H, W] inputs have one)");
}

namespace {

int data_op(const Graph& g) {
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i)
    if (g.op(i).kind == OpKind::input) return i;
  throw std::invalid_argument(g.name + ": no input op");
}

double accuracy(InferenceModel& m, const std::vector<int32_t>& labels) {
  const std::vector<float> logits = m.tensor(m.logits_op());
  const int64_t k = m.classes();
  int64_t right = 0;
  for (size_t r = 0; r < labels.size(); ++r) {
    const auto row = logits.begin() + static_cast<std::ptrdiff_t>(r) * k;
    right += std::max_element(row, row + k) - row == labels[r];
  }
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

// sum[name] += share * w[name] for every entry of `w`.
void add_scaled(const Weights& w, Weights& sum, double share) {
  for (const auto& [name, v] : w) {
    std::vector<float>& s = sum[name];
    s.resize(v.size(), 0.f);
    for (size_t k = 0; k < v.size(); ++k) s[k] += static_cast<float>(share * v[k]);
  }
}

// Trains `g` (in its own precision) on `task` for `steps` from the seeded initial weights,
// with momentum (plain SGD at lr 0.01 is too slow for deep stacks in a few hundred steps);
// returns the trained weights, batch-norm statistics averaged over the last batches. Training
// batch s of data seed d is task batch d * 2^32 + s: seed 0 is the original stream, and no
// stream reaches the calibration (10^6 + i) or held-out (2 * 10^6 + i) batches.
Weights train_on_task(Graph g, const models::Task& task, int steps, uint64_t data_seed, TaskAccuracy& out) {
  g.optimizer = Optimizer::momentum;
  const int in = data_op(g);
  const Dims& dims = g.dims_of(in);
  InferenceModel trainer(g, Mode::train);
  std::vector<float> x;
  std::vector<int32_t> y;
  const bool has_norm = std::any_of(g.ops.begin(), g.ops.end(), [](const Op& op) { return op.kind == OpKind::batch_norm; });
  const int stat_steps = has_norm ? std::min(steps, 20) : 0;
  Weights statistics;
  for (int s = 0; s < steps; ++s) {
    task.batch((data_seed << 32) + static_cast<uint64_t>(s), dims[0], x, y);
    trainer.feed(in, x);
    trainer.set_labels(y);
    trainer.run();
    if (s == 0) out.first_loss = trainer.loss();
    if (s >= steps - stat_steps) add_scaled(trainer.norm_statistics(), statistics, 1.0 / stat_steps);
  }
  out.final_loss = trainer.loss();
  Weights trained = trainer.weights();
  for (const auto& [name, v] : statistics) trained[name] = v;
  return trained;
}

// Top-1 accuracy of `g` with `w` on `batches` held-out batches of `task`.
double held_out_accuracy(const Graph& g, const Weights& w, const models::Task& task, int batches) {
  const int in = data_op(g);
  InferenceModel m(g, Mode::infer, w);
  std::vector<float> x;
  std::vector<int32_t> y;
  double sum = 0;
  for (int b = 0; b < batches; ++b) {
    task.batch(2'000'000 + static_cast<uint64_t>(b), g.dims_of(in)[0], x, y);
    m.feed(in, x);
    m.run();
    sum += accuracy(m, y);
  }
  return sum / batches;
}

int64_t classes_of(const Graph& g) { return g.op(g.op(g.loss_op()).inputs.at(0)).out.back(); }

}  // namespace

TaskAccuracy task_accuracy(const Graph& g, const CalibrationOptions& o, int steps, uint64_t data_seed, int eval_batches) {
  const Graph f32 = f32_copy(g);
  const int in = data_op(g);
  const std::unique_ptr<models::Task> task = make_task(g.dims_of(in), classes_of(g));
  TaskAccuracy out;
  out.task = task->describe();
  out.steps = steps;
  const Weights trained = train_on_task(f32, *task, steps, data_seed, out);
  Graph reduced = g;  // calibrated on task batches the training never saw
  std::vector<float> x;
  std::vector<int32_t> y;
  calibrate(reduced, o, "", trained, [&](InferenceModel& m, uint64_t seed) {
    task->batch(1'000'000 + seed, g.dims_of(in)[0], x, y);
    m.feed(in, x);
  });
  out.f32_accuracy = held_out_accuracy(f32, trained, *task, eval_batches);
  out.reduced_accuracy = held_out_accuracy(reduced, trained, *task, eval_batches);
  return out;
}

TaskAccuracy training_accuracy(const Graph& g, int steps, uint64_t data_seed, int eval_batches) {
  const Graph f32 = f32_copy(g);
  const std::unique_ptr<models::Task> task = make_task(g.dims_of(data_op(g)), classes_of(g));
  TaskAccuracy out, f32_losses;
  out.task = task->describe();
  out.steps = steps;
  out.f32_accuracy = held_out_accuracy(f32, train_on_task(f32, *task, steps, data_seed, f32_losses), *task, eval_batches);
  out.reduced_accuracy = held_out_accuracy(g, train_on_task(g, *task, steps, data_seed, out), *task, eval_batches);
  return out;
}

}  // namespace paradnn::cpu
