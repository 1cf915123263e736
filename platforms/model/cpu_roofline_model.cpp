#include "platforms/model/cpu_roofline_model.hpp"

#include <limits>

#include "paradnn/error.hpp"
#include "platforms/model/step_model.hpp"

namespace paradnn::model {

std::optional<RooflineCeilings> roofline_ceilings(const PlatformFile& f, DType t, int threads) {
  auto peak = f.peak_flops(t, threads);
  if (!peak) peak = f.peak_flops(DType::f32, threads);
  const auto bw = f.memory_bandwidth(threads);
  if (!peak || !bw) return std::nullopt;
  return RooflineCeilings{*peak, *bw};
}

DeviceSlice cpu_device(const RooflineCeilings& c, DType t, const std::string& label) {
  DeviceSpec spec;
  spec.kind = DeviceKind::cpu;
  spec.generation = spec.display_name = label;
  spec.slice_counts = SliceUnit::chips;
  spec.chips_per_host = 1;
  spec.matrix_peak_per_chip[t] = spec.matrix_peak_per_chip[DType::f32] = c.peak_flops;
  spec.vector_flops_per_s_per_chip = c.peak_flops;
  spec.hbm_bytes_per_s_per_chip = c.bandwidth_bytes;
  spec.hbm_bytes_per_chip = std::numeric_limits<double>::infinity();
  spec.pcie_bytes_per_s_per_chip = spec.stack.host_infeed_bytes_per_s = std::numeric_limits<double>::infinity();
  return make_slice(spec, 1);
}

double predict_step_seconds_on_cpu(const Graph& g, Mode m, const PlatformFile& f, int threads) {
  const auto c = roofline_ceilings(f, g.dtype, threads);
  if (!c) throw InputError("platform file lacks a compute ceiling or a DRAM bandwidth: run `paradnn roofline` again");
  const DeviceSlice cpu = cpu_device(*c, g.dtype, f.machine.device_name);
  return predict_step(g, m, cpu, cpu.spec.stack.host_infeed_bytes_per_s).step_s;
}

}  // namespace paradnn::model
