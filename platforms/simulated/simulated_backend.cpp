#include "platforms/simulated/simulated_backend.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "paradnn/error.hpp"
#include "platforms/model/step_model.hpp"
#include "platforms/simulated/host_infeed.hpp"

namespace paradnn::simulated {

using namespace model;  // the step model this backend predicts with

namespace {

// A prediction: its clock is the model, so the harness reads step_seconds() and never times step().
class ModelExecutable : public Executable {
 public:
  ModelExecutable(StepPrediction p, std::string kernels) : p_(std::move(p)), kernels_(std::move(kernels)) {}

  Clock clock() const override { return Clock::model; }
  void step() override {}  // nothing runs here: the step is predicted
  double step_seconds() override { return p_.step_s; }
  std::string bound() const override { return std::string(to_string(p_.bound)); }

  std::vector<OpTime> profile(int) override {
    std::vector<OpTime> out;
    for (const OpPrediction& o : p_.ops) {
      OpTime t;
      t.op = o.op;
      t.name = o.name;
      t.phase = o.phase;
      t.seconds = o.t.seconds;
      t.flops = o.flops;
      t.bytes = o.bytes;
      t.bound = std::string(to_string(o.t.bound));
      t.impl = o.op >= 0 ? fmt::format("model: matrix {:.3g} s, vector {:.3g} s, hbm {:.3g} s", o.t.matrix, o.t.vector, o.t.hbm)
                         : "model";
      out.push_back(std::move(t));
    }
    return out;
  }

  std::string kernels() const override { return kernels_; }

 private:
  StepPrediction p_;
  std::string kernels_;
};

class SimulatedBackend : public Backend {
 public:
  SimulatedBackend(DeviceSlice slice, bool measure_host) : slice_(std::move(slice)) {
    host_rate_ = slice_.spec.stack.host_infeed_bytes_per_s;
    host_note_ = fmt::format("spec {}: {:.2f} GB/s (host_infeed_bytes_per_s)", slice_.spec.file, host_rate_ / 1e9);
    if (measure_host) {
      const HostInfeed h = measure_host_infeed();
      // The pipeline stages bf16 (2 bytes an element); the model counts infeed in the f32
      // bytes the input function produces, so the same element rate is twice the bytes.
      host_rate_ = 2 * h.bytes_per_s;
      host_note_ = h.describe() + " (x2: f32 bytes per element in the model)";
    }
  }

  std::string name() const override { return slice_.name; }
  bool simulated() const override { return true; }

  PlatformInfo platform() const override {
    PlatformInfo p;
    const DeviceSpec& spec = slice_.spec;
    const bool gpu = spec.kind == DeviceKind::gpu;
    p.platform = gpu ? "gpu" : "tpu";
    p.device_name = slice_.label + " (simulated)";
    p.isa = gpu ? fmt::format("{}: {} SMs, GEMM tiles {}x{}", spec.generation, spec.sms, spec.gemm_tile, spec.gemm_tile)
                : fmt::format("{}: {} MXUs of {}x{} per TensorCore", spec.generation, spec.mxus_per_tensorcore,
                              spec.mxu_size, spec.mxu_size);
    p.cores = slice_.cores;
    p.sockets = slice_.chips;
    p.memory_bytes = slice_.spec.hbm_bytes_per_chip * slice_.chips;
    p.versions["device_spec"] = slice_.spec.file;
    p.versions["host_infeed"] = host_note_;
    p.versions["step_model"] = "paradnn analytical model (platforms/model/README.md)";
    return p;
  }

  std::optional<std::string> cannot_run(const Graph& g, Mode m) const override {
    const DeviceSpec& spec = slice_.spec;
    for (const Op& op : g.ops) {
      if (op.kind == OpKind::input || op.kind == OpKind::token_input) continue;
      if (op.dtype == DType::int8 && m == Mode::train) return "int8 training is not modelled (inference only)";
      if (spec.matrix_peak_per_core(op.dtype) > 0) continue;
      if (op.dtype == DType::int8) return spec.display_name + " has no int8 mode";
      std::vector<std::string> has;
      for (const auto& [t, peak] : spec.matrix_peak_per_chip) has.push_back(std::string(to_string(t)));
      return fmt::format("{} has no {} arithmetic (it has {})", spec.display_name, to_string(op.dtype), fmt::join(has, ", "));
    }
    if (g.batch < slice_.cores)
      return fmt::format("batch {} is smaller than the {} TensorCores of {} (data parallel needs one example per core)",
                         g.batch, slice_.cores, slice_.label);
    return check_memory(g, m, slice_).reason;
  }

  std::unique_ptr<Executable> prepare(const Graph& g, Mode m, const Settings&) override {
    if (const auto why = cannot_run(g, m)) throw Unsupported(*why);
    return std::make_unique<ModelExecutable>(predict_step(g, m, slice_, host_rate_), kernels_note());
  }

  // The slice's ceilings are its spec's (nothing to measure): bf16 peak of all its chips,
  // which f32 also runs at (XLA's default single bf16 pass), and HBM bandwidth of all chips.
  std::optional<PlatformFile> ceilings(const std::string& path) const override {
    if (!path.empty()) return load_platform_file(path);
    PlatformFile f;
    f.machine = platform();
    f.settings = "from the generation spec " + slice_.spec.file + " (not measured)";
    const double chips = slice_.chips;
    for (const auto& [t, peak] : slice_.spec.matrix_peak_per_chip)
      f.compute.push_back({std::string(to_string(t)), 0, peak * chips, 0, "spec"});
    f.bandwidth.push_back({"DRAM", 0, slice_.spec.hbm_bytes_per_s_per_chip * chips, 0, slice_.spec.hbm_bytes_per_chip * chips,
                           "spec: HBM"});
    return f;
  }

 private:
  std::string kernels_note() const {
    return slice_.spec.kind == DeviceKind::gpu ? "gpu performance model (cuBLAS-style tiles in waves over the SMs)"
                                               : "tpu performance model (XLA-style fusion, padded MXU tiles)";
  }

  DeviceSlice slice_;
  double host_rate_ = 0;
  std::string host_note_;
};

}  // namespace

std::unique_ptr<Backend> make_tpu_backend(const std::string& spec_text, bool measure_host) {
  return std::make_unique<SimulatedBackend>(resolve_slice(spec_text), measure_host);
}

std::unique_ptr<Backend> make_gpu_model_backend(const std::string& spec_text, bool measure_host) {
  return std::make_unique<SimulatedBackend>(resolve_gpu(spec_text), measure_host);
}

}  // namespace paradnn::simulated
