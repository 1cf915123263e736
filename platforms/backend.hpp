// The one interface every backend implements: CPU (oneDNN), CUDA (cuDNN/cuBLAS), TPU model.
//
// A backend says what it cannot run before anything is timed (a `skipped` row with the
// reason), applies the threading settings it has, prepares an Executable for a graph outside
// the timed region, and names the clock its steps are timed with. Everything else a point
// may need from its platform (ceilings, a memory budget, reduced-precision evaluation,
// data-parallel steps) is a hook with a default that says "this backend has none", so the
// harness never asks which backend it is talking to.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "paradnn/graph.hpp"
#include "paradnn/platform_file.hpp"
#include "paradnn/quantization.hpp"

namespace paradnn {

enum class Affinity { none, close, spread };
std::string_view to_string(Affinity a);
Affinity parse_affinity(std::string_view s);

// Threading and parallelism knobs (what tuning recommends and --settings applies).
struct Settings {
  int intra_threads = 0;  // OpenMP threads per op; 0 = all physical cores
  int inter_pools = 1;    // concurrently executing streams
  Affinity affinity = Affinity::none;
};

// Which part of a step a unit of work belongs to: forward, backward, optimizer update, a
// layout or type conversion, gradient communication (all-reduce), or, in performance
// models, the host's input feed and fixed per-step overhead.
enum class Phase { fwd, bwd, update, reorder, comm, infeed, overhead };
std::string_view to_string(Phase p);

// Time of one op (or one phase of it) in a per-op breakdown.
struct OpTime {
  int op = -1;             // graph op index; -1 for work that is no graph op (a reorder)
  std::string name;        // op name, or e.g. "fc2.weight:reorder"
  Phase phase = Phase::fwd;
  double seconds = 0;
  double flops = 0, bytes = 0;
  std::string impl;        // the kernel that ran (oneDNN impl_info_str, cuDNN algo, TPU bound)
  std::string bound;       // for simulated ops: the binding ceiling
};

// How a step's time is obtained: one strategy per backend (as nvbench separates its
// measurement kinds).
enum class Clock {
  wall,    // the harness times step() on the host's clock
  device,  // the backend times each step on the device's clock (CUDA events): step_seconds()
  model,   // nothing runs: step_seconds() is a performance model's prediction
};

class Executable {
 public:
  virtual ~Executable() = default;
  virtual Clock clock() const { return Clock::wall; }
  // One training step (forward, backward, update) or one inference pass.
  virtual void step() = 0;
  // Clock::device: runs one step and returns its seconds on the device's clock.
  // Clock::model: the predicted seconds of one step. Not used with Clock::wall.
  virtual double step_seconds();
  // Clock::model: the ceiling that binds the predicted step; empty otherwise.
  virtual std::string bound() const { return {}; }
  // Mean loss of the last training step (NaN where the mode has none).
  virtual double loss() const;
  // Per-op times averaged over `iterations` steps; empty where the backend cannot split.
  virtual std::vector<OpTime> profile(int iterations);
  // Short text naming the kernels that ran (distinct implementation names).
  virtual std::string kernels() const { return {}; }
};

// Reduced-precision inference judged against f32, outside the timed step.
struct Fidelity {
  double top1_agreement = 0;  // share of evaluation rows whose argmax matches the f32 model's
  double logits_rel_l2 = 0;   // ||y - y_f32|| / ||y_f32|| over all evaluation logits
  int64_t rows = 0;
};

// A model trained in f32 on a seeded task, then judged in its reduced precision.
struct TaskAccuracy {
  std::string task;
  int steps = 0;
  double first_loss = 0, final_loss = 0;
  double f32_accuracy = 0, reduced_accuracy = 0;  // on held-out task batches
};

class PrecisionEvaluator {
 public:
  virtual ~PrecisionEvaluator() = default;
  // Sets the activation scales of `g`'s int8 ops (cached per `cache_key` when not empty).
  virtual void calibrate(Graph& g, const CalibrationOptions& o, const std::string& cache_key) = 0;
  // `reduced` (an inference graph in a reduced precision) against its f32 copy.
  virtual Fidelity fidelity(const Graph& reduced, const CalibrationOptions& o) = 0;
  // `g` trained in f32 on its seeded task for `steps`, then calibrated and judged as `g`.
  // `data_seed` picks the stream of training batches (0: the default one); the held-out
  // batches are the same for every seed.
  virtual TaskAccuracy task_accuracy(const Graph& g, const CalibrationOptions& o, int steps, uint64_t data_seed) = 0;
  // `g` (a training precision: bf16, int16_dfp) and its f32 copy each trained for `steps` from
  // the same weights on the same task batches, each judged in its own precision.
  virtual TaskAccuracy training_accuracy(const Graph& g, int steps, uint64_t data_seed) = 0;
};

// A training step whose gradients are summed over the ranks of an MPI launch.
struct DataParallelOptions {
  bool overlap = true;  // per-bucket all-reduce during backward; false: one blocking all-reduce after it
  double bucket_bytes = 2.0 * (1 << 20);
};

class DataParallelExecutable : public Executable {
 public:
  // The same step with no communication (what each rank computes alone).
  virtual void local_step() = 0;
  // Every bucket reduced once with no compute around it.
  virtual void reduce_only() = 0;
  virtual int buckets() const = 0;
  virtual double gradient_bytes() const = 0;
};

// What `paradnn roofline` asks a backend to measure.
struct ProbeOptions {
  bool quick = false;        // fewer sizes and repetitions: a rougher, faster estimate
  std::vector<int> threads;  // thread counts to measure; empty = 1 and all physical cores
  std::function<void(const std::string&)> progress;  // one line per figure measured; may be empty
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu", "cuda", "tpu:v3-8"
  // Rows of a simulated backend are predictions (source=simulated).
  virtual bool simulated() const { return false; }
  virtual PlatformInfo platform() const = 0;
  // Why the whole backend cannot run here (no device), or nullopt.
  virtual std::optional<std::string> unavailable() const { return std::nullopt; }
  // Why this graph cannot run here (dtype the ISA lacks, op not supported), or nullopt.
  virtual std::optional<std::string> cannot_run(const Graph& g, Mode m) const = 0;
  // Creates everything the step needs (primitives, buffers, synthetic data) under settings
  // `s` (threads, pools, placement, where the backend has them); not timed.
  virtual std::unique_ptr<Executable> prepare(const Graph& g, Mode m, const Settings& s) = 0;

  // Intra-op threads a point runs with under `s`; 0 where threads are not this backend's knob.
  virtual int threads_used(const Settings&) const { return 0; }
  // Where a point's memory is this process's own (the CPU): the memory available to it now,
  // which bounds the memory budget and makes the process's peak the point's measured memory.
  virtual std::optional<double> host_memory_available() const { return std::nullopt; }
  // Ceilings rows are placed on: the platform file at `path` when given, else the backend's
  // own (this machine's, probed once and cached; or a spec's). nullopt where there are none.
  virtual std::optional<PlatformFile> ceilings(const std::string& path) const;
  // Measures this machine's ceilings (`paradnn roofline`); throws Unsupported where it cannot.
  virtual PlatformFile measure_ceilings(const ProbeOptions& o);
  // Reduced-precision evaluation outside the timed step; nullptr where the backend has none.
  virtual PrecisionEvaluator* precision() { return nullptr; }
  // A training step with gradients all-reduced over an MPI launch; throws Unsupported where
  // the backend (or this build) has none.
  virtual std::unique_ptr<DataParallelExecutable> prepare_data_parallel(const Graph& g, const Settings& s,
                                                                        const DataParallelOptions& o);
};

}  // namespace paradnn
