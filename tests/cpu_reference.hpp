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

// d f / d x_k for every element of `x` by central differences of step `eps` (`f` reads `x`,
// which is restored afterwards).
std::vector<double> central_differences(std::vector<double>& x, const std::function<double()>& f, double eps);

}  // namespace paradnn::reference
