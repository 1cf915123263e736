#include "platforms/torch/graph_json.hpp"

namespace paradnn::torch {

namespace {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::tanh: return "tanh";
    case Activation::gelu: return "gelu";
    case Activation::none: break;
  }
  return "none";
}

}  // namespace

nlohmann::json graph_to_json(const Graph& g) {
  nlohmann::json ops = nlohmann::json::array();
  for (const Op& op : g.ops) {
    nlohmann::json params = nlohmann::json::array();
    for (const Param& p : op.params) params.push_back({{"name", p.name}, {"dims", p.dims}});
    ops.push_back({{"kind", std::string(to_string(op.kind))}, {"name", op.name}, {"inputs", op.inputs},
                   {"out", op.out}, {"dtype", std::string(to_string(op.dtype))}, {"kernel", op.kernel},
                   {"stride", op.stride}, {"pad", op.pad}, {"groups", op.groups},
                   {"post", activation_name(op.post)}, {"cell", std::string(to_string(op.cell))},
                   {"layers", op.layers}, {"classes", op.classes},
                   {"shares_params_with", op.shares_params_with}, {"params", params}});
  }
  return {{"family", g.family}, {"name", g.name}, {"batch", g.batch}, {"dtype", std::string(to_string(g.dtype))},
          {"optimizer", std::string(to_string(g.optimizer))}, {"ops", ops}};
}

}  // namespace paradnn::torch
