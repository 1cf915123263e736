// The step model, one engine for every accelerator (TPU generations, GPUs; the CPU roofline
// model is the same engine on a measured platform file): per fused op, the largest of
// matrix-unit, vector-unit, HBM and dispatch time on one core; per training step add the
// optimizer update, the gradient all-reduce over the slice, the infeed from the host and a
// fixed per-step overhead.
//
//   op     = max(matrix, vector, hbm, dispatch)           per fused op and phase
//   device = sum(ops, fwd + bwd) + sum(updates) + all-reduce
//   step   = max(device, infeed) + overhead      (infeed is pipelined, as TF's input_fn is)
//
// The device's figures come from its spec (device_spec.hpp), with the software stack's
// achieved fractions as named terms (StackTerms); how GEMMs meet the matrix unit is the
// lowering rule of matrix_unit.hpp. The step's binding ceiling is the largest contributor:
// infeed when it exceeds the device time, else the ceiling binding most of the device time.
#pragma once
#include "platforms/backend.hpp"
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "paradnn/graph.hpp"
#include "platforms/model/op_work.hpp"
#include "platforms/model/device_spec.hpp"

namespace paradnn::model {

enum class Ceiling { matrix_unit, vector_unit, hbm, dispatch, infeed, all_reduce, overhead };
constexpr size_t kCeilings = 7;
std::string_view to_string(Ceiling c);

struct UnitTimes {
  double matrix = 0, vector = 0, hbm = 0;  // summed over the sequential repeats
  double seconds = 0;  // sum over repeats of the largest of the three and the dispatch floor
  Ceiling bound = Ceiling::hbm;
};
UnitTimes time_segments(const std::vector<Segment>& work, DType t, const DeviceSpec& spec);

struct OpPrediction {
  int op = -1;        // fusion leader; -1 for step-level rows
  std::string name;   // leader name, "+" the ops fused into it
  paradnn::Phase phase = paradnn::Phase::fwd;  // all-reduce rows are Phase::comm
  UnitTimes t;
  double flops = 0, bytes = 0;  // whole slice, from OpCost
};

struct StepPrediction {
  std::vector<OpPrediction> ops;
  double compute_s = 0, update_s = 0, all_reduce_s = 0, device_s = 0;
  double infeed_s = 0, overhead_s = 0, step_s = 0;
  double infeed_bytes = 0, infeed_rate = 0, gradient_bytes = 0;
  std::array<double, kCeilings> by_ceiling{};  // seconds of the step each ceiling binds
  Ceiling bound = Ceiling::overhead;
  double flops = 0;  // useful FLOPs per step (Graph::totals)
  double flops_per_s() const { return step_s > 0 ? flops / step_s : 0; }
};

StepPrediction predict_step(const Graph& g, Mode m, const DeviceSlice& slice, double host_infeed_bytes_per_s);

// Seconds of ring all-reduces of `bytes` in `messages` tensors over the slice (data-parallel
// gradients, one message per gradient tensor as TF1's CrossShardOptimizer sends them).
double all_reduce_seconds(double bytes, int messages, const DeviceSlice& slice);
// Bytes the host sends per step: inputs as f32 (tokens as int32) and one-hot f32 labels for
// a softmax classifier, as TensorFlow input functions feed them (ParaDnn's among them).
double infeed_bytes(const Graph& g);
// Bytes per second one host moves to its chips: its pipeline, capped by PCIe.
double infeed_rate(const DeviceSlice& slice, double host_infeed_bytes_per_s);
// Seconds to move a batch of `bytes` from the hosts to the chips.
double infeed_seconds(double bytes, const DeviceSlice& slice, double host_infeed_bytes_per_s);

struct MemoryFit {
  double per_core_bytes = 0, capacity_bytes = 0;
  double padding_factor = 1;  // padded / unpadded activation bytes
  std::optional<std::string> reason;  // set when it does not fit
};
// f32 master weights, optimizer state and the largest op's gradients (a full replica per core;
// low-precision copies are cast where used, gradients applied as they complete) plus this
// core's share of the activations,
// padded to the (sublane, lane) tiles, against HBM per core.
MemoryFit check_memory(const Graph& g, Mode m, const DeviceSlice& slice);

}  // namespace paradnn::model
