// Plain-loop reference implementations of the graph ops, in double precision, used to
// check the backends: forward values directly, gradients by central differences of the
// reference loss (so no backward pass is written twice).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "paradnn/graph.hpp"

namespace paradnn::reference {

using Values = std::map<int, std::vector<double>>;            // op index -> output, IR layout
using Params = std::map<std::string, std::vector<double>>;     // IR parameter name -> values

// Evaluates ops (from, end) in order on top of `values` (which holds every input they read)
// and returns the loss of the graph's loss op for `labels`.
double evaluate(const Graph& g, int from, Values& values, const Params& params, const std::vector<int32_t>& labels);

std::vector<double> to_double(const std::vector<float>& v);

// The real-model ops alone, as evaluate() runs them.
std::vector<double> permute(const Dims& in, const std::vector<int>& perm, const std::vector<double>& x);  // out k = in perm[k]
std::vector<double> upsample(const Dims& in, int64_t factor, const std::vector<double>& x);               // nearest, NCHW
// [B, M, K] x [B, K, N], or x [B, N, K]^T with transpose_b.
std::vector<double> batched_matmul(const Dims& da, const Dims& db, bool transpose_b, const std::vector<double>& a,
                                   const std::vector<double>& b);
// Over the last dim; causal keeps column j <= row i of each [M, N] matrix, the rest 0.
std::vector<double> softmax(const Dims& in, bool causal, const std::vector<double>& x);
std::vector<double> layer_norm(int64_t cols, const std::vector<double>& x, const std::vector<double>& gamma,
                               const std::vector<double>& beta);  // eps 1e-5
// Sigmoid focal loss (gamma 2, alpha 0.25) against 0/1 targets, summed, divided by rows.
double focal_loss(const std::vector<double>& x, const std::vector<int32_t>& target, int64_t rows);

// Largest element-wise difference relative to the reference's largest magnitude; an
// all-zero reference is mistrusted (infinite error), so no check passes vacuously.
double rel_error(const std::vector<float>& got, const std::vector<double>& want);
// d/dx <f(x), dy> by central differences.
std::vector<double> vjp(const std::function<std::vector<double>(const std::vector<double>&)>& f, std::vector<double> x,
                        const std::vector<double>& dy);

// d f / d x_k for every element of `x` by central differences of step `eps` (`f` reads `x`,
// which is restored afterwards).
std::vector<double> central_differences(std::vector<double>& x, const std::function<double()>& f, double eps);

}  // namespace paradnn::reference
