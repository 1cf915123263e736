// The one interface every backend implements: CPU (oneDNN), CUDA (cuDNN/cuBLAS), TPU model.
//
// A backend says what it cannot run before anything is timed (a `skipped` row with the
// reason), prepares an Executable for a graph outside the timed region, and the runner
// times Executable::step(). A simulated backend predicts the step time instead.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "paradnn/graph.hpp"

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

struct PlatformInfo {
  std::string platform;     // "cpu", "cuda", "tpu"
  std::string device_name;  // CPU model string, GPU name, TPU generation
  std::string isa;          // e.g. avx512_core_amx, sm_90
  int cores = 0, sockets = 0, hardware_threads = 0;
  double memory_bytes = 0;
  std::map<std::string, std::string> versions;  // library name -> version
};

// Time of one op (or one phase of it) in a per-op breakdown.
struct OpTime {
  int op = -1;             // graph op index; -1 for work that is no graph op (a reorder)
  std::string name;        // op name, or e.g. "fc2.weight:reorder"
  std::string phase;       // fwd, bwd, update, reorder
  double seconds = 0;
  double flops = 0, bytes = 0;
  std::string impl;        // the kernel that ran (oneDNN impl_info_str, cuDNN algo, TPU bound)
  std::string bound;       // for simulated ops: the binding ceiling
};

class Executable {
 public:
  virtual ~Executable() = default;
  // One training step (forward, backward, update) or one inference pass.
  virtual void step() = 0;
  // Mean loss of the last training step (NaN where the mode has none).
  virtual double loss() const;
  // Per-op times averaged over `iterations` steps; empty where the backend cannot split.
  virtual std::vector<OpTime> profile(int iterations);
  // Short text naming the kernels that ran (distinct implementation names).
  virtual std::string kernels() const { return {}; }
  // Backends timing on their own clock (CUDA events) return seconds of one step here.
  virtual std::optional<double> timed_step() { return std::nullopt; }
  // Simulated backends return the predicted step time and the binding ceiling.
  struct Prediction {
    double seconds = 0;
    std::string bound;
  };
  virtual std::optional<Prediction> predicted() const { return std::nullopt; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu", "cuda", "tpu:v3-8"
  virtual bool simulated() const { return false; }
  virtual PlatformInfo platform() const = 0;
  // Why the whole backend cannot run here (no device), or nullopt.
  virtual std::optional<std::string> unavailable() const { return std::nullopt; }
  // Why this graph cannot run here (dtype the ISA lacks, op not supported), or nullopt.
  virtual std::optional<std::string> cannot_run(const Graph& g, Mode m) const = 0;
  // Creates everything the step needs (primitives, buffers, synthetic data); not timed.
  virtual std::unique_ptr<Executable> prepare(const Graph& g, Mode m, const Settings& s) = 0;
};

}  // namespace paradnn
