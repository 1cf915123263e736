// A learnable synthetic task for judging reduced precision on a trained model rather than
// on random weights: a seeded Gaussian mixture (one random centre per class, unit noise)
// for FC models. The f32 copy of a graph is trained on it, then the graph's int8/bf16 ops
// are calibrated on task batches and both models classify held-out task batches.
#pragma once
#include <cstdint>
#include <vector>

#include "paradnn/graph.hpp"
#include "paradnn/quantization.hpp"

namespace paradnn::cpu {

struct MixtureTask {
  int64_t features = 0, classes = 0;
  std::vector<float> centres;  // classes x features
  // `rows` examples of batch `seed`: features row-major, and their classes.
  void batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const;
};

// Centres with per-feature spread scaled so two classes are about 12 noise deviations apart.
MixtureTask make_mixture(int64_t features, int64_t classes, uint64_t seed);

struct TaskAccuracy {
  int steps = 0;
  double first_loss = 0, final_loss = 0;
  double f32_accuracy = 0, reduced_accuracy = 0;  // on held-out task batches
};

// `g`: an FC inference graph ([N, F] input) whose ops carry the reduced precision.
TaskAccuracy mixture_accuracy(const Graph& g, const CalibrationOptions& o, int steps = 300, int eval_batches = 8);

}  // namespace paradnn::cpu
