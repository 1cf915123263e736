// Learnable synthetic tasks for judging reduced precision on a trained model rather than on
// random weights: the seeded Gaussian mixture (models/mixture_task.hpp) for FC models
// ([N, F] inputs) and seeded shape images for CNNs ([N, C, H, W] inputs). The f32 copy of a
// graph is trained on its task, then the graph's int8/bf16 ops are calibrated on task batches
// and both models classify held-out task batches.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/mixture_task.hpp"
#include "paradnn/graph.hpp"
#include "paradnn/quantization.hpp"
#include "platforms/backend.hpp"

namespace paradnn::cpu {

// Images of one shape each (square, disc, triangle, cross; filled or outlined: 8 classes,
// or fewer if the model has fewer outputs) at a random place, size and colour, on a noisy
// background (shape_images.cpp).
class ShapesTask : public models::Task {
 public:
  ShapesTask(int64_t channels, int64_t height, int64_t width, int64_t classes);
  void batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const override;
  std::string describe() const override;
  static constexpr int64_t kinds = 8;

 private:
  int64_t channels_, height_, width_, classes_;
};

// The task for a model's input dims: mixture for [N, F], shapes for [N, C, H, W].
std::unique_ptr<models::Task> make_task(const Dims& input, int64_t classes);

// `g`: an FC or CNN inference graph whose ops carry the reduced precision. `data_seed` picks
// the stream of training batches (0: the default); held-out and calibration batches are the
// same for every seed, and so are the initial weights.
TaskAccuracy task_accuracy(const Graph& g, const CalibrationOptions& o, int steps = 300, uint64_t data_seed = 0,
                           int eval_batches = 8);
// `g`: an FC or CNN graph in a training precision (int16_dfp). It and its f32 copy are each
// trained from the same seeded weights on the same task batches for `steps`, and each is
// judged on held-out batches in its own precision; losses are `g`'s.
TaskAccuracy training_accuracy(const Graph& g, int steps = 300, uint64_t data_seed = 0, int eval_batches = 8);

}  // namespace paradnn::cpu
