// `paradnn lowp`'s Hadamard-domain 4-bit rows: the 4-bit matmul's speed (whole: transforms,
// quantization, packing, int8-tile product, scaling back; and the int8-tile product alone,
// per ISA) against f32 (dnnl_sgemm) and bf16 (oneDNN), its error against f32, and the
// class-incremental FC accuracies in f32, bf16, int16_dfp and hadamard4 on one schedule.
#pragma once
#include <functional>

#include "models/mixture_task.hpp"
#include "platforms/cpu/lowp/fc_trainer.hpp"
#include "platforms/cpu/lowp/incremental_trainer.hpp"
#include "platforms/cpu/lowp/lowp_bench.hpp"

namespace paradnn::cpu::lowp {

// The seeded class-incremental task the bench and the tests share: 10 overlapping Gaussian
// classes in 64 features (separation 5), an FC 64-256-256-10 classifier, 5 stages of 2
// classes, 500 training examples per class, 150 SGD steps per stage, 50 replayed per class.
struct IncrementalSetup {
  FcShape shape;
  float separation = 0;
  uint64_t task_seed = 0;
  IncrementalSchedule schedule;
};
IncrementalSetup incremental_setup(bool quick);

void hadamard4_rows(bool quick, const std::function<void(const LowpRow&)>& add, const LowpTimer& timer);

}  // namespace paradnn::cpu::lowp
