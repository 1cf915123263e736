// Class-incremental training of the FC classifier (FcTrainer) on the Gaussian-mixture task:
// the classes arrive in stages (class order, e.g. 10 classes in 5 stages of 2), each stage
// trains only on its own classes plus a small replay buffer of the earlier ones (experience
// replay, the usual baseline of class-incremental learning: without it the network forgets
// all but the last stage), and accuracy is measured after every stage on held-out examples
// of every class seen so far. The same schedule runs in every Precision.
#pragma once
#include <cstdint>
#include <vector>

#include "models/mixture_task.hpp"
#include "platforms/cpu/lowp/fc_trainer.hpp"

namespace paradnn::cpu::lowp {

struct IncrementalSchedule {
  int stages = 5;                // the task's classes split into this many equal groups, in order
  int steps_per_stage = 150;     // SGD steps per stage, one batch each
  int train_per_class = 500;     // a stage's training set: train_per_class * its classes examples
  int replay_per_class = 20;     // examples of each finished class kept for replay (0: none)
  float learning_rate = 0.05f;
  int eval_batches = 8;          // held-out batches (of shape.batch rows) per evaluation
  uint64_t data_seed = 5000;     // the training stream, the replay buffer and the held-out data
};
// Data: each stage has a finite training set of its classes (seeded draws of the task),
// visited in shuffled epochs. Replay: after a stage the buffer keeps replay_per_class of its
// training examples per class; from the second stage on a batch holds examples of the
// stage's training set and examples drawn (with replacement, seeded) from the buffer, in
// proportion to the classes: old / seen of the batch (e.g. 6 of 8 seen classes old -> 3/4
// of the rows). The head has all classes from the start (no masking of unseen logits).

struct IncrementalResult {
  Precision precision = Precision::f32;
  std::vector<double> stage_accuracy;  // after each stage, on held-out data of the classes seen
  double final_accuracy = 0;           // after the last stage, all classes
  double final_loss = 0;               // mean loss of the last stage's last batch
  int64_t s4_overflows = 0;            // hadamard4: accumulator overflows over the run (checked)
  int s4_tile_steps = 0;               // hadamard4: int8 tile length of the last product
  double seconds = 0;                  // training wall time (steps only)
};

// `size` examples of the task whose class is allowed, from the task's batches seeded from `seed`.
Batch draw_class_batch(const models::Task& task, int size, uint64_t seed, const std::vector<bool>& allowed);

IncrementalResult train_class_incremental(const models::Task& task, const FcShape& shape, Precision precision,
                                          const IncrementalSchedule& schedule, uint64_t init_seed);

}  // namespace paradnn::cpu::lowp
