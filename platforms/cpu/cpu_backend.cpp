#include "platforms/cpu/cpu_backend.hpp"

#include <omp.h>

#include "platforms/cpu/backend/onednn_executable.hpp"
#include "platforms/cpu/backend/onednn_int8.hpp"
#include "platforms/cpu/backend/onednn_ops.hpp"
#include "platforms/cpu/precision/calibration.hpp"
#include "platforms/cpu/precision/learnable_task.hpp"
#include "platforms/cpu/probes/cpu_platform.hpp"
#include "platforms/cpu/probes/cpu_roofline.hpp"
#include "platforms/cpu/threading/pool_executor.hpp"
#ifdef PARADNN_HAVE_MPI
#include "platforms/cpu/backend/onednn_gradient_allreduce.hpp"
#endif

namespace paradnn::cpu {

namespace {

class CpuPrecision final : public PrecisionEvaluator {
 public:
  void calibrate(Graph& g, const CalibrationOptions& o, const std::string& cache_key) override {
    cpu::calibrate(g, o, cache_key);
  }
  Fidelity fidelity(const Graph& reduced, const CalibrationOptions& o) override { return measure_fidelity(reduced, o); }
  TaskAccuracy training_accuracy(const Graph& g, int steps, uint64_t data_seed) override {
    return cpu::training_accuracy(g, steps, data_seed);
  }
  TaskAccuracy task_accuracy(const Graph& g, const CalibrationOptions& o, int steps, uint64_t data_seed) override {
    return cpu::task_accuracy(g, o, steps, data_seed);
  }
};

#ifdef PARADNN_HAVE_MPI
// The step of one rank: its local batch's gradients summed over the launch's ranks.
class CpuDataParallel final : public DataParallelExecutable {
 public:
  CpuDataParallel(const Graph& g, const DataParallelOptions& o)
      : exe_(g, Mode::train), reduce_(exe_.net(), allreduce_options(o)) {}

  void step() override {
    reduce_.set_enabled(true);
    exe_.step();
  }
  void local_step() override {
    reduce_.set_enabled(false);
    exe_.step();
  }
  void reduce_only() override { reduce_.reduce_only(); }
  int buckets() const override { return static_cast<int>(reduce_.buckets()); }
  double gradient_bytes() const override { return reduce_.gradient_bytes(); }
  double loss() const override { return exe_.loss(); }
  std::string kernels() const override { return exe_.kernels(); }

 private:
  static AllreduceOptions allreduce_options(const DataParallelOptions& o) {
    AllreduceOptions a;
    a.overlap = o.overlap;
    a.bucket_bytes = static_cast<size_t>(o.bucket_bytes);
    return a;
  }
  CpuExecutable exe_;
  GradientAllreduce reduce_;
};
#endif

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  PlatformInfo platform() const override { return cpu_platform(); }

  std::optional<std::string> cannot_run(const Graph& g, Mode m) const override {
    const CpuFeatures f = cpu_features();
    for (const Op& op : g.ops) {
      if (op.kind == OpKind::token_input) continue;  // ids, not compute
      if (const std::string why = dtype_unsupported_reason(op.dtype, f); !why.empty()) return why;
      if (op.dtype == DType::int8)
        if (auto why = int8_unsupported_reason(g, op, m)) return why;
      if (op.dtype == DType::int16_dfp && (op.kind == OpKind::dense || op.kind == OpKind::conv))
        if (auto why = dfp_unsupported_reason(op)) return why;
      if (auto why = unsupported_reason(op)) return why;
    }
    return std::nullopt;
  }

  std::unique_ptr<Executable> prepare(const Graph& g, Mode m, const Settings& s) override {
    return prepare_with_settings([&] { return std::make_unique<CpuExecutable>(g, m); }, s);
  }

  int threads_used(const Settings& s) const override { return s.intra_threads > 0 ? s.intra_threads : physical_cores(); }
  std::optional<double> host_memory_available() const override { return available_memory_bytes(); }

  std::optional<PlatformFile> ceilings(const std::string& path) const override { return load_or_probe_platform(path); }
  PlatformFile measure_ceilings(const ProbeOptions& o) override {
    RooflineOptions r;
    r.quick = o.quick;
    r.threads = o.threads;
    r.progress = o.progress;
    return probe_cpu_roofline(r);
  }

  PrecisionEvaluator* precision() override { return &precision_; }

#ifdef PARADNN_HAVE_MPI
  std::unique_ptr<DataParallelExecutable> prepare_data_parallel(const Graph& g, const Settings& s,
                                                                const DataParallelOptions& o) override {
    if (s.intra_threads > 0) omp_set_num_threads(s.intra_threads);  // the launcher's binding stays
    return std::make_unique<CpuDataParallel>(g, o);
  }
#endif

 private:
  CpuPrecision precision_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace paradnn::cpu
