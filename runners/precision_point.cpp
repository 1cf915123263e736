#include "runners/precision_point.hpp"

#include "platforms/cpu/calibration.hpp"
#include "runners/result_row.hpp"

namespace paradnn {

void apply_precision_policy(Graph& g, const QuantizationConfig& q) {
  if (g.dtype != DType::int8) return;
  apply_precision(g, int8_layers(g, q.policy));
}

void calibrate_point(Graph& g, const Point& p, const QuantizationConfig& q) {
  if (g.dtype != DType::int8 || p.mode != Mode::infer) return;
  cpu::calibrate(g, q.calibration, p.key());
}

void fill_fidelity(Row& row, const Graph& g, const Point& p, const QuantizationConfig& q) {
  if (p.mode != Mode::infer || g.dtype == DType::f32) return;
  if (g.dtype == DType::int8) {
    row["calibration"] = q.calibration.describe();
    row["precision_layers"] = describe_precision(g);
  }
  try {
    const cpu::Fidelity f = cpu::measure_fidelity(g, q.calibration);
    row["fidelity_top1_agreement"] = format_number(f.top1_agreement);
    row["fidelity_logits_rel_l2"] = format_number(f.logits_rel_l2);
  } catch (const std::exception& e) {
    row["reason"] = std::string("fidelity not measured: ") + e.what();
  }
}

}  // namespace paradnn
