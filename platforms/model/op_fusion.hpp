// Simple producer fusion, as XLA does on TPU: element-wise ops (relu, tanh, gelu, add,
// batch-norm normalize) run inside the fusion of the op that produced their first input, so
// their intermediate tensors never travel to HBM.
#pragma once
#include <vector>

#include "paradnn/graph.hpp"

namespace paradnn::model {

bool is_fusible(OpKind k);

// For each op, the index of the op leading its fusion (itself if it leads one). Data inputs
// and views (input, token_input, reshape) lead nothing: an op after them leads its own.
std::vector<int> fusion_leaders(const Graph& g);

// HBM bytes a fused op still moves inside its leader's fusion, in each phase: a residual
// add reads its other inputs. Others move none.
double fused_op_bytes(const Op& op);

// Bytes of a separate reduction pass a fused op needs: batch norm in training cannot
// normalize until the batch statistics are complete, so the statistics are a pass of their
// own over the output (forward), and dgamma/dbeta one over dy and x (backward).
double reduction_pass_bytes(const Op& op, Mode m, bool backward);

}  // namespace paradnn::model
