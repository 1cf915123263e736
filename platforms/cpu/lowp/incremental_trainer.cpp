#include "platforms/cpu/lowp/incremental_trainer.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>
#include <stdexcept>

namespace paradnn::cpu::lowp {

namespace {

uint64_t mix(uint64_t a, uint64_t b) { return a * 0x9E3779B97F4A7C15ull + b * 0xC2B2AE3D27D4EB4Full + 1; }

void append(Batch& to, const Batch& from, int row, int features) {
  to.x.insert(to.x.end(), from.x.begin() + size_t(row) * features, from.x.begin() + size_t(row + 1) * features);
  to.label.push_back(from.label[row]);
  ++to.size;
}

double mean_accuracy(FcTrainer& trainer, const std::vector<Batch>& held_out) {
  double sum = 0;
  for (const Batch& b : held_out) sum += trainer.accuracy(b);
  return held_out.empty() ? 0 : sum / double(held_out.size());
}

}  // namespace

Batch draw_class_batch(const models::Task& task, int size, uint64_t seed, const std::vector<bool>& allowed) {
  Batch out;
  int features = 0;
  for (uint64_t attempt = 0; out.size < size; ++attempt) {
    if (attempt > 10000) throw std::runtime_error("draw_class_batch: no allowed class in the task's batches");
    const int rows = std::max(size, 256);  // a few allowed classes of many: draw generously
    Batch b = draw_batch(task, rows, mix(seed, attempt));
    features = int(b.x.size() / size_t(rows));
    for (int i = 0; i < b.size && out.size < size; ++i)
      if (b.label[i] >= 0 && size_t(b.label[i]) < allowed.size() && allowed[b.label[i]]) append(out, b, i, features);
  }
  return out;
}

IncrementalResult train_class_incremental(const models::Task& task, const FcShape& shape, Precision precision,
                                          const IncrementalSchedule& s, uint64_t init_seed) {
  if (s.stages < 1 || shape.classes % s.stages != 0) throw std::invalid_argument("class-incremental: classes must split into equal stages");
  const int per_stage = shape.classes / s.stages, bs = shape.batch, features = shape.input;
  FcTrainer trainer(shape, precision, init_seed, s.learning_rate);
  IncrementalResult result;
  result.precision = precision;
  std::mt19937_64 rng(mix(s.data_seed, 77));
  Batch replay;  // the buffer
  std::vector<bool> seen(shape.classes, false);
  double seconds = 0;
  for (int stage = 0; stage < s.stages; ++stage) {
    std::vector<bool> current(shape.classes, false);
    for (int c = stage * per_stage; c < (stage + 1) * per_stage; ++c) current[c] = seen[c] = true;
    const int seen_classes = (stage + 1) * per_stage;
    const int replay_rows = replay.size > 0 ? bs * (seen_classes - per_stage) / seen_classes : 0;
    const int fresh_rows = bs - replay_rows;
    // The stage's training set, visited in seeded shuffled epochs.
    const Batch pool = draw_class_batch(task, s.train_per_class * per_stage, mix(s.data_seed, uint64_t(stage) + 1), current);
    std::vector<int> order(pool.size);
    std::iota(order.begin(), order.end(), 0);
    size_t next = order.size();
    std::uniform_int_distribution<int> pick(0, std::max(0, replay.size - 1));
    for (int step = 0; step < s.steps_per_stage; ++step) {
      Batch batch;
      for (int r = 0; r < fresh_rows; ++r) {
        if (next == order.size()) {
          std::shuffle(order.begin(), order.end(), rng);
          next = 0;
        }
        append(batch, pool, order[next++], features);
      }
      for (int r = 0; r < replay_rows; ++r) append(batch, replay, pick(rng), features);
      const auto t0 = std::chrono::steady_clock::now();
      result.final_loss = trainer.step(batch);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    // Held-out data of every class seen so far (its own seeds: never trained on).
    std::vector<Batch> held_out;
    for (int e = 0; e < s.eval_batches; ++e) held_out.push_back(draw_class_batch(task, bs, mix(s.data_seed + 1, 900000 + e), seen));
    result.stage_accuracy.push_back(mean_accuracy(trainer, held_out));
    // The replay buffer keeps the first replay_per_class examples of each of the stage's classes.
    std::vector<int> kept(shape.classes, 0);
    for (int i = 0; i < pool.size; ++i)
      if (kept[pool.label[i]] < s.replay_per_class) {
        ++kept[pool.label[i]];
        append(replay, pool, i, features);
      }
  }
  result.final_accuracy = result.stage_accuracy.back();
  result.s4_overflows = trainer.s4_overflows();
  result.s4_tile_steps = trainer.s4_tile_steps();
  result.seconds = seconds;
  return result;
}

}  // namespace paradnn::cpu::lowp
