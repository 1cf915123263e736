// Tied parameters: ops that use another op's weights (the transformer's embedding table
// shared by the target embedding and the output projection, RetinaNet's heads shared
// across FPN levels). See onednn_ops.hpp for the order in which their gradients are
// written; the ParamStore holds each weight once, so its update runs once.
#include <stdexcept>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

int param_owner(const Graph& g, int i) {
  const int o = g.op(i).shares_params_with;
  if (o >= i) throw std::invalid_argument(g.op(i).name + ": shares the parameters of a later op (" + g.op(o).name + ")");
  return o >= 0 ? o : i;
}

bool first_grad_writer(const Graph& g, int i) {
  const int owner = param_owner(g, i);
  for (size_t j = static_cast<size_t>(i) + 1; j < g.ops.size(); ++j)
    if (g.ops[j].shares_params_with == owner) return false;
  return true;
}

Weight& tied_weight(Lowering& ctx, int i, size_t k, const memory::dims& dims) {
  const Graph& g = ctx.graph();
  const Op& op = g.op(i);
  const Op& owner = g.op(param_owner(g, i));
  Weight* w = ctx.params().find(owner.params.at(k).name);
  if (!w) throw std::logic_error(op.name + ": " + owner.name + " has no parameter " + owner.params.at(k).name);
  if (w->plain.dims() != dims) throw std::invalid_argument(op.name + ": its parameter shape differs from " + owner.name + "'s");
  w->views[op.params.at(k).name] = 0;
  return *w;
}

memory weight_grad_sink(Lowering& ctx, int i, const Weight& w, const memory::desc& diff) {
  if (first_grad_writer(ctx.graph(), i) && w.grad.get_desc() == diff) return w.grad;
  return memory(diff, ctx.engine());
}

void close_weight_grad(Lowering& ctx, int i, const Weight& w, const memory& sink, const std::string& what) {
  if (sink.get_data_handle() == w.grad.get_data_handle()) return;
  ctx.add_reorder(i, true, what, sink, w.grad, !first_grad_writer(ctx.graph(), i));
}

}  // namespace paradnn::cpu
