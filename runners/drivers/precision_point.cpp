#include "runners/drivers/precision_point.hpp"

#include "runners/harness/result_row.hpp"

namespace paradnn {

void apply_precision_policy(Graph& g, const QuantizationConfig& q) {
  if (g.dtype != DType::int8) return;
  apply_precision(g, int8_layers(g, q.policy));
}

void calibrate_point(PrecisionEvaluator& e, Graph& g, const Point& p, const QuantizationConfig& q) {
  if (g.dtype != DType::int8 || p.mode != Mode::infer) return;
  e.calibrate(g, q.calibration, p.key());
}

void fill_fidelity(PrecisionEvaluator& e, Row& row, const Graph& g, const Point& p, const QuantizationConfig& q) {
  if (p.mode != Mode::infer || g.dtype == DType::f32) return;
  if (g.dtype == DType::int8) {
    row["calibration"] = q.calibration.describe();
    row["precision_layers"] = describe_precision(g);
  }
  try {
    const Fidelity f = e.fidelity(g, q.calibration);
    row["fidelity_top1_agreement"] = format_number(f.top1_agreement);
    row["fidelity_logits_rel_l2"] = format_number(f.logits_rel_l2);
  } catch (const std::exception& err) {
    row["reason"] = std::string("fidelity not measured: ") + err.what();
  }
}

}  // namespace paradnn
