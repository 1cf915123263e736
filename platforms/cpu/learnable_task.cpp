#include "platforms/cpu/learnable_task.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "platforms/cpu/calibration.hpp"
#include "platforms/cpu/inference_model.hpp"

namespace paradnn::cpu {

MixtureTask make_mixture(int64_t features, int64_t classes, uint64_t seed) {
  MixtureTask t;
  t.features = features;
  t.classes = classes;
  std::mt19937_64 rng(seed);
  // Centres N(0, s^2) per feature: two centres lie s*sqrt(2F) apart; aim for ~12 deviations.
  std::normal_distribution<float> n(0.f, 12.0f / std::sqrt(2.0f * static_cast<float>(features)));
  t.centres.resize(static_cast<size_t>(features * classes));
  for (float& c : t.centres) c = n(rng);
  return t;
}

void MixtureTask::batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const {
  std::mt19937_64 rng(seed * 7919 + 13);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(classes - 1));
  std::normal_distribution<float> noise(0.f, 1.f);
  x.resize(static_cast<size_t>(rows * features));
  labels.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t c = pick(rng);
    labels[static_cast<size_t>(r)] = c;
    for (int64_t f = 0; f < features; ++f)
      x[static_cast<size_t>(r * features + f)] = centres[static_cast<size_t>(c * features + f)] + noise(rng);
  }
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

}  // namespace

TaskAccuracy mixture_accuracy(const Graph& g, const CalibrationOptions& o, int steps, int eval_batches) {
  const int in = data_op(g);
  const Dims& dims = g.dims_of(in);
  if (dims.size() != 2) throw std::invalid_argument(g.name + ": the mixture task needs a flat [N, F] input (FC models)");
  Graph f32 = f32_copy(g);
  f32.optimizer = Optimizer::momentum;  // plain SGD at lr 0.01 is too slow for deep FC stacks in a few hundred steps
  InferenceModel trainer(f32, Mode::train);
  const MixtureTask task = make_mixture(dims[1], trainer.classes(), 77);
  std::vector<float> x;
  std::vector<int32_t> y;
  TaskAccuracy out;
  out.steps = steps;
  for (int s = 0; s < steps; ++s) {
    task.batch(static_cast<uint64_t>(s), dims[0], x, y);
    trainer.feed(in, x);
    trainer.set_labels(y);
    trainer.run();
    if (s == 0) out.first_loss = trainer.loss();
  }
  out.final_loss = trainer.loss();
  const Weights trained = trainer.weights();

  Graph reduced = g;  // calibrated on task batches the training never saw
  calibrate(reduced, o, "", trained, [&](InferenceModel& m, uint64_t seed) {
    task.batch(1'000'000 + seed, dims[0], x, y);
    m.feed(in, x);
  });
  InferenceModel reference(f32, Mode::infer, trained), test(reduced, Mode::infer, trained);
  for (int b = 0; b < eval_batches; ++b) {
    task.batch(2'000'000 + static_cast<uint64_t>(b), dims[0], x, y);
    reference.feed(in, x);
    test.feed(in, x);
    reference.run();
    test.run();
    out.f32_accuracy += accuracy(reference, y) / eval_batches;
    out.reduced_accuracy += accuracy(test, y) / eval_batches;
  }
  return out;
}

}  // namespace paradnn::cpu
