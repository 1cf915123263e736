// `paradnn task-accuracy`: reduced precision judged on a trained model. Each FC and CNN
// inference point whose dtype is not f32 is trained in f32 on its seeded task (Gaussian
// mixture for FC, shape images for CNN), its reduced-precision ops calibrated on task batches
// with the config's policy, and both models' accuracy on held-out batches written as a row.
// Each training point whose dtype is not f32 (bf16, int16_dfp) is trained in that dtype and,
// from the same initial weights on the same batches, in f32: both held-out accuracies.
// With `seeds` > 1 each point is trained that many times, each time on another stream of
// training batches (same initial weights, same held-out batches): the row gives the means,
// their spread and the paired difference (reduced - f32, per seed) with its standard error,
// which is what says whether a gap is real: one run of a small CNN moves by several points
// with the batch order alone.
#pragma once
#include <string>
#include <vector>

#include "paradnn/csv.hpp"

namespace paradnn {

struct TaskAccuracyOptions {
  std::string config_path, filter, output, backend = "cpu";
  int steps = 300;
  int seeds = 1;
  bool resume = false, force = false;
};

struct TaskAccuracyRun {
  std::string output;
  std::vector<Row> rows;  // this run's rows (status ok, failed or skipped)
};

TaskAccuracyRun run_task_accuracy(const TaskAccuracyOptions& o);
const std::vector<std::string>& task_accuracy_columns();

}  // namespace paradnn
