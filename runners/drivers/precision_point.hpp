// Reduced-precision inference points: the config's precision policy applied to an int8
// graph, calibration before the point is prepared (not timed), and the fidelity columns of
// every reduced-precision inference row (after timing), through the backend's evaluator.
#pragma once
#include "paradnn/csv.hpp"
#include "paradnn/point.hpp"
#include "paradnn/quantization.hpp"
#include "platforms/backend.hpp"

namespace paradnn {

// An int8 graph gets the policy's per-layer precision; other graphs are unchanged.
void apply_precision_policy(Graph& g, const QuantizationConfig& q);
// Sets the int8 ops' activation scales of an int8 inference point (cached per point key).
void calibrate_point(PrecisionEvaluator& e, Graph& g, const Point& p, const QuantizationConfig& q);
// fidelity_top1_agreement, fidelity_logits_rel_l2, calibration and precision_layers for an
// inference row whose dtype is not f32 (a failure leaves them empty and says why in `reason`).
void fill_fidelity(PrecisionEvaluator& e, Row& row, const Graph& g, const Point& p, const QuantizationConfig& q);

}  // namespace paradnn
