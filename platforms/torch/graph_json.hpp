// A paradnn Graph as the JSON the torch worker (torch_worker.py) builds its model from: the
// ops in order with their kinds, inputs, output dims, attributes and parameter names.
#pragma once
#include <nlohmann/json.hpp>

#include "paradnn/graph.hpp"

namespace paradnn::torch {

nlohmann::json graph_to_json(const Graph& g);

}  // namespace paradnn::torch
