// Reduced-precision inference points in a sweep (issue 11): the config's precision policy
// applied to an int8 graph, calibration before the point is prepared (not timed), and the
// fidelity columns of every reduced-precision inference row (after timing).
#pragma once
#include "paradnn/csv.hpp"
#include "paradnn/point.hpp"
#include "paradnn/quantization.hpp"

namespace paradnn {

// An int8 graph gets the policy's per-layer precision; other graphs are unchanged.
void apply_precision_policy(Graph& g, const QuantizationConfig& q);
// Sets the int8 ops' activation scales on the CPU (cached per point key).
void calibrate_point(Graph& g, const Point& p, const QuantizationConfig& q);
// fidelity_top1_agreement, fidelity_logits_rel_l2, calibration and precision_layers for an
// inference row whose dtype is not f32 (CPU backend only; a failure leaves them empty and
// says why in `reason`).
void fill_fidelity(Row& row, const Graph& g, const Point& p, const QuantizationConfig& q);

}  // namespace paradnn
