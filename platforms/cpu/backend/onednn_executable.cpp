#include "platforms/cpu/backend/onednn_executable.hpp"

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

namespace paradnn::cpu {

CpuExecutable::CpuExecutable(const Graph& g, Mode m, bool fuse, Buffers buffers) : net_(g, m, fuse, buffers) {
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) build_op(net_, i);
  net_.finalize();
}

void CpuExecutable::step() {
  net_.forward();
  if (net_.training()) {
    net_.backward();
    net_.update();
  }
  net_.stream().wait();
}

double CpuExecutable::loss() const { return net_.training() ? net_.loss : std::nan(""); }

std::vector<OpTime> CpuExecutable::profile(int iterations) {
  const Graph& g = net_.graph();
  const FusionPlan& fusion = net_.lowering().fusion();
  std::vector<OpTime> rows;
  std::map<std::tuple<int, Phase, std::string>, size_t> index;
  std::set<int> updated;  // an op's update cost goes on its first update row
  for (const auto& [call, seconds] : net_.calls().timed_calls(iterations)) {
    const auto key = std::make_tuple(call->op, call->phase, call->name);
    auto [it, fresh] = index.try_emplace(key, rows.size());
    if (fresh) {
      OpTime t;
      t.op = call->phase == Phase::reorder ? -1 : call->op;
      t.name = call->name;
      t.phase = call->phase;
      t.impl = call->impl;
      t.bytes = call->bytes;
      if (call->phase != Phase::reorder) {
        // A fused ReLU's (or folded norm's) work is done by this op's call: count it here.
        std::vector<const Op*> parts = {&g.op(call->op)};
        for (size_t j = static_cast<size_t>(call->op) + 1; j < g.ops.size(); ++j)
          if (fusion.fused_away(static_cast<int>(j)) && fusion.canonical(g.ops[j].inputs.at(0)) == call->op)
            parts.push_back(&g.ops[j]);
        for (const Op* p : parts) {
          const OpCost& c = p->cost;
          if (call->phase == Phase::fwd) t.flops += c.fwd_flops, t.bytes += c.fwd_bytes;
          if (call->phase == Phase::bwd) t.flops += c.bwd_data_flops + c.bwd_weight_flops, t.bytes += c.bwd_bytes;
        }
        if (call->phase == Phase::update && call->name.find(":reorder") == std::string::npos && updated.insert(call->op).second) {
          t.flops = g.op(call->op).cost.update_flops;
          t.bytes = g.op(call->op).cost.update_bytes;
        }
      }
      rows.push_back(t);
    } else if (rows[it->second].impl.find(call->impl) == std::string::npos) {
      rows[it->second].impl += "+" + call->impl;
    }
    rows[it->second].seconds += seconds / iterations;
  }
  return rows;
}

std::string CpuExecutable::kernels() const {
  std::string out;
  for (const std::string& k : net_.calls().impls()) out += (out.empty() ? "" : ";") + k;
  return out;
}

std::vector<float> CpuExecutable::output(int op) {
  if (!net_.buffer_plan().output_intact(op))
    throw std::logic_error(net_.graph().op(op).name + ": its output's storage was reused later in the step");
  const memory y = net_.output(op);
  if (y.get_desc().data_type() == Dt::s32) {
    const auto* ids = static_cast<const int32_t*>(y.get_data_handle());
    return std::vector<float>(ids, ids + y.get_desc().get_size() / sizeof(int32_t));
  }
  return read_plain(net_.engine(), net_.stream(), y);
}

std::vector<float> CpuExecutable::output_grad(int op) {
  if (net_.training() && !net_.buffer_plan().gradient_intact(op))
    throw std::logic_error(net_.graph().op(op).name + ": its gradient's storage was reused later in the backward pass");
  return read_plain(net_.engine(), net_.stream(), net_.lowering().grad(op));
}

const Param& CpuExecutable::find_param(const std::string& name) const {
  for (const Op& op : net_.graph().ops)
    for (const Param& p : op.params)
      if (p.name == name) return p;
  throw std::invalid_argument("no parameter named " + name);
}

std::vector<float> CpuExecutable::param(const std::string& name) {
  return net_.params().read(net_.engine(), net_.stream(), name, find_param(name), false);
}

std::vector<float> CpuExecutable::param_grad(const std::string& name) {
  return net_.params().read(net_.engine(), net_.stream(), name, find_param(name), true);
}

}  // namespace paradnn::cpu
