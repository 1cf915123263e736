// Learnable synthetic tasks for judging reduced precision on a trained model rather than on
// random weights: a seeded Gaussian mixture for FC models ([N, F] inputs) and seeded shape
// images for CNNs ([N, C, H, W] inputs). The f32 copy of a graph is trained on its task,
// then the graph's int8/bf16 ops are calibrated on task batches and both models classify
// held-out task batches.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "paradnn/graph.hpp"
#include "paradnn/quantization.hpp"

namespace paradnn::cpu {

// A seeded labelled data set: every batch is a pure function of its seed.
class Task {
 public:
  virtual ~Task() = default;
  // `rows` examples of batch `seed`: inputs in the IR's order, and their classes.
  virtual void batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const = 0;
  virtual std::string describe() const = 0;  // for reports, e.g. "gaussian-mixture/200"
};

// One random centre per class (classes about 12 noise deviations apart), unit noise.
class MixtureTask : public Task {
 public:
  MixtureTask(int64_t features, int64_t classes, uint64_t seed);
  void batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const override;
  std::string describe() const override;

 private:
  int64_t features_, classes_;
  std::vector<float> centres_;  // classes x features
};

// Images of one shape each (square, disc, triangle, cross; filled or outlined: 8 classes,
// or fewer if the model has fewer outputs) at a random place, size and colour, on a noisy
// background (shape_images.cpp).
class ShapesTask : public Task {
 public:
  ShapesTask(int64_t channels, int64_t height, int64_t width, int64_t classes);
  void batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const override;
  std::string describe() const override;
  static constexpr int64_t kinds = 8;

 private:
  int64_t channels_, height_, width_, classes_;
};

// The task for a model's input dims: mixture for [N, F], shapes for [N, C, H, W].
std::unique_ptr<Task> make_task(const Dims& input, int64_t classes);

struct TaskAccuracy {
  std::string task;
  int steps = 0;
  double first_loss = 0, final_loss = 0;
  double f32_accuracy = 0, reduced_accuracy = 0;  // on held-out task batches
};

// `g`: an FC or CNN inference graph whose ops carry the reduced precision.
TaskAccuracy task_accuracy(const Graph& g, const CalibrationOptions& o, int steps = 300, int eval_batches = 8);

}  // namespace paradnn::cpu
