#include "platforms/tpu/tpu_backend.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "paradnn/error.hpp"
#include "platforms/tpu/host_infeed.hpp"
#include "platforms/model/tpu_model.hpp"

namespace paradnn::tpu {

using namespace model;  // the TPU model this backend predicts with

namespace {

// A prediction: its clock is the model, so the harness reads step_seconds() and never times step().
class TpuExecutable : public Executable {
 public:
  explicit TpuExecutable(StepPrediction p) : p_(std::move(p)) {}

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

  std::string kernels() const override { return "tpu performance model (XLA-style fusion, padded MXU tiles)"; }

 private:
  StepPrediction p_;
};

class TpuBackend : public Backend {
 public:
  TpuBackend(TpuSlice slice, bool measure_host) : slice_(std::move(slice)) {
    host_rate_ = slice_.spec.host_infeed_bytes_per_s;
    host_note_ = fmt::format("spec {}: {:.2f} GB/s (host_infeed_bytes_per_s)", slice_.spec.file, host_rate_ / 1e9);
    if (measure_host) {
      const HostInfeed h = measure_host_infeed();
      host_rate_ = h.bytes_per_s;
      host_note_ = h.describe();
    }
  }

  std::string name() const override { return slice_.name; }
  bool simulated() const override { return true; }

  PlatformInfo platform() const override {
    PlatformInfo p;
    p.platform = "tpu";
    p.device_name = slice_.label + " (simulated)";
    p.isa = fmt::format("{}: {} MXUs of {}x{} per TensorCore", slice_.spec.generation, slice_.spec.mxus_per_tensorcore,
                        slice_.spec.mxu_size, slice_.spec.mxu_size);
    p.cores = slice_.cores;
    p.sockets = slice_.chips;
    p.memory_bytes = slice_.spec.hbm_bytes_per_chip * slice_.chips;
    p.versions["tpu_spec"] = slice_.spec.file;
    p.versions["tpu_host_infeed"] = host_note_;
    p.versions["tpu_model"] = "paradnn analytical model (platforms/model/README.md)";
    return p;
  }

  std::optional<std::string> cannot_run(const Graph& g, Mode m) const override {
    for (const Op& op : g.ops) {
      if (op.kind == OpKind::input || op.kind == OpKind::token_input) continue;
      switch (op.dtype) {
        case DType::f32:
        case DType::bf16:
          break;  // f32 matmuls run as one bf16 pass (XLA's default precision on TPU)
        case DType::int8:
          if (slice_.spec.peak_int8_ops_per_chip <= 0) return slice_.spec.display_name + " has no int8 mode";
          if (m == Mode::train) return "int8 training is not modelled on TPU (inference only)";
          break;
        default:
          return fmt::format("{} has no {} arithmetic (bf16 and int8 only; f32 runs as bf16 passes)",
                             slice_.spec.display_name, to_string(op.dtype));
      }
    }
    if (g.batch < slice_.cores)
      return fmt::format("batch {} is smaller than the {} TensorCores of {} (data parallel needs one example per core)",
                         g.batch, slice_.cores, slice_.label);
    return check_memory(g, m, slice_).reason;
  }

  std::unique_ptr<Executable> prepare(const Graph& g, Mode m, const Settings&) override {
    if (const auto why = cannot_run(g, m)) throw Unsupported(*why);
    return std::make_unique<TpuExecutable>(predict_step(g, m, slice_, host_rate_));
  }

  // The slice's ceilings are its spec's (nothing to measure): bf16 peak of all its chips,
  // which f32 also runs at (XLA's default single bf16 pass), and HBM bandwidth of all chips.
  std::optional<PlatformFile> ceilings(const std::string& path) const override {
    if (!path.empty()) return load_platform_file(path);
    PlatformFile f;
    f.machine = platform();
    f.settings = "from the generation spec " + slice_.spec.file + " (not measured)";
    const double chips = slice_.chips;
    for (const char* dtype : {"f32", "bf16"})
      f.compute.push_back({dtype, 0, slice_.spec.peak_bf16_flops_per_chip * chips, 0, "spec"});
    if (slice_.spec.peak_int8_ops_per_chip > 0)
      f.compute.push_back({"int8", 0, slice_.spec.peak_int8_ops_per_chip * chips, 0, "spec"});
    f.bandwidth.push_back({"DRAM", 0, slice_.spec.hbm_bytes_per_s_per_chip * chips, 0, slice_.spec.hbm_bytes_per_chip * chips,
                           "spec: HBM"});
    return f;
  }

 private:
  TpuSlice slice_;
  double host_rate_ = 0;
  std::string host_note_;
};

}  // namespace

std::unique_ptr<Backend> make_tpu_backend(const std::string& spec_text, bool measure_host) {
  return std::make_unique<TpuBackend>(resolve_slice(spec_text), measure_host);
}

}  // namespace paradnn::tpu
