#include "platforms/cpu/onednn_backend.hpp"

#include "platforms/cpu/cpu_platform.hpp"
#include "platforms/cpu/onednn_executable.hpp"
#include "platforms/cpu/onednn_int8.hpp"
#include "platforms/cpu/onednn_ops.hpp"

namespace paradnn::cpu {

namespace {

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
      if (op.dtype != DType::f32 && op.dtype != DType::bf16 && op.dtype != DType::int8)
        return std::string(to_string(op.dtype)) + " is not implemented on the CPU backend yet (f32, bf16)";
      if (auto why = unsupported_reason(op)) return why;
    }
    return std::nullopt;
  }

  std::unique_ptr<Executable> prepare(const Graph& g, Mode m, const Settings&) override {
    return std::make_unique<CpuExecutable>(g, m);
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace paradnn::cpu
