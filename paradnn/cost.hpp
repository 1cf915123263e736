// Analytic FLOP, byte and memory counts per op.
//
// Conventions (README "How paradnn counts"): a multiply-add is 2 FLOPs; element-wise
// work counts the arithmetic per element stated beside each kind in cost.cpp; bytes are
// the minimum traffic of one pass (each input, weight and output touched once at the
// op's element size; gradients and the update in f32, as master weights are f32).
#pragma once
#include "paradnn/graph.hpp"

namespace paradnn {

OpCost count_cost(const Graph& g, const Op& op);

// Rows and features of a dense layer's GEMM: [N, C, H, W] flattens to N x CHW,
// [..., K] keeps K and folds the leading dims into rows (per-time-step projection).
struct GemmRows {
  int64_t rows = 0, features = 0;
};
GemmRows dense_gemm_rows(const Dims& in);

// Element-wise FLOPs per output element for each cell kind, forward (see cost.cpp).
double rnn_eltwise_flops_per_element(RnnCell c);

}  // namespace paradnn
