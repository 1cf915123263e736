#include "platforms/cpu/backend/onednn_lowering.hpp"

#include <cstring>
#include <random>
#include <stdexcept>

namespace paradnn::cpu {

Lowering::Lowering(const Graph& g, Mode m, const dnnl::engine& e, dnnl::stream& s, ParamStore& params,
                   const FusionPlan& fusion, BufferPlan& buffers, CallList& calls, double& loss,
                   std::vector<int32_t>& labels)
    : graph_(g), training_(m == Mode::train), engine_(e), stream_(s), params_(params), fusion_(fusion),
      buffers_(buffers), calls_(calls), loss_(loss), labels_(labels) {
  const size_t n = graph_.ops.size();
  writers_.resize(n);
  out_scale_.assign(n, 1.f);
  y_.resize(n);
  dy_.resize(n);
  dy_converted_.resize(n);
  needs_grad_.assign(n, false);
  if (!training_) return;
  needs_grad_ = tensors_needing_gradients(graph_);
  // Who writes each tensor's gradient, in the order the backward pass runs.
  for (int i = static_cast<int>(n) - 1; i >= 0; --i) {
    if (fusion_.fused_away(i)) continue;
    const Op& op = graph_.op(i);
    for (int s = 0; s < static_cast<int>(op.inputs.size()); ++s)
      if (needs_input_grad(i, s)) writers_[static_cast<size_t>(fusion_.canonical(op.inputs[s]))].push_back({i, s});
  }
}

bool Lowering::data_op(int t) const {
  const OpKind k = graph_.op(t).kind;
  return k == OpKind::input || k == OpKind::token_input;
}

bool Lowering::needs_input_grad(int i, int slot) const {
  if (!training_ || fusion_.fused_away(i)) return false;
  const Op& op = graph_.op(i);
  return op.needs_input_grad && needs_grad_[static_cast<size_t>(fusion_.canonical(op.inputs.at(static_cast<size_t>(slot))))];
}

memory::desc Lowering::input_desc(int i, int slot, Dt type) const {
  const int t = graph_.op(i).inputs.at(static_cast<size_t>(slot));
  if (y_[static_cast<size_t>(t)]) return y_[static_cast<size_t>(t)].get_desc();
  return plain_desc(graph_.dims_of(t), graph_.op(t).kind == OpKind::token_input ? Dt::s32 : type);
}

memory Lowering::input(int i, int slot, const memory::desc& want) {
  const Op& op = graph_.op(i);
  const int t = op.inputs.at(static_cast<size_t>(slot));
  memory& y = y_[static_cast<size_t>(t)];
  if (!y) {
    // Synthetic data, made in the layout its first consumer wants.
    if (!data_op(t)) throw std::logic_error(op.name + ": input " + graph_.op(t).name + " was not built");
    y = memory(want, engine_);
    const size_t n = static_cast<size_t>(elements(graph_.dims_of(t)));
    if (graph_.op(t).kind == OpKind::token_input) {
      const int64_t vocab = op.params.at(0).dims.at(0);
      std::mt19937 rng(7);
      std::uniform_int_distribution<int32_t> u(0, static_cast<int32_t>(vocab - 1));
      auto* ids = static_cast<int32_t*>(y.get_data_handle());
      for (size_t k = 0; k < n; ++k) ids[k] = u(rng);
    } else {
      write_plain(engine_, stream_, y, uniform_values(n, -1.f, 1.f, 11 + static_cast<uint64_t>(t)));
    }
    return y;
  }
  return in_layout(i, false, op.name + ".in" + std::to_string(slot), y, want);
}

void Lowering::set_output(int i, const memory& y) { y_[static_cast<size_t>(i)] = y; }

memory Lowering::new_output(int i, const memory::desc& md) {
  memory y = buffers_.output(i, md);
  set_output(i, y);
  return y;
}

memory Lowering::in_layout(int i, bool backward, const std::string& what, const memory& src, const memory::desc& want) {
  if (src.get_desc() == want) return src;
  memory converted = scratch(i, backward ? Span::backward : Span::to_backward, want);
  add_reorder(i, backward, what, src, converted);
  return converted;
}

memory Lowering::quantized(int t, float scale, const memory::desc& want) const {
  const auto it = quantized_.find({t, scale});
  if (it != quantized_.end())
    for (const memory& m : it->second)
      if (m.get_desc() == want) return m;
  return memory();
}

memory Lowering::grad(int i) {
  const int c = fusion_.canonical(i);
  memory& g = dy_[static_cast<size_t>(c)];
  if (g) return g;
  const memory::desc md = y_[static_cast<size_t>(c)].get_desc();
  g = buffers_.gradient(c, md, !writers_[static_cast<size_t>(c)].empty());
  if (g.get_data_handle()) std::memset(g.get_data_handle(), 0, md.get_size());  // none while a plan records
  return g;
}

memory Lowering::grad_as(int i, const memory::desc& want) {
  for (const memory& m : dy_converted_[static_cast<size_t>(i)])
    if (m.get_desc() == want) return m;
  memory g = in_layout(i, true, graph_.op(i).name + ".d_out", grad(i), want);
  dy_converted_[static_cast<size_t>(i)].push_back(g);
  return g;
}

bool Lowering::alias_grad(int i, const memory& g) {
  memory& d = dy_[static_cast<size_t>(fusion_.canonical(i))];
  if (d) return false;
  d = g;
  return true;
}

Sink Lowering::sink(int i, int slot, const memory::desc& md) {
  const int t = fusion_.canonical(graph_.op(i).inputs.at(static_cast<size_t>(slot)));
  memory target = grad(t);
  const auto& w = writers_[static_cast<size_t>(t)];
  const bool first = !w.empty() && w.front() == std::make_pair(i, slot);
  if (first && target.get_desc() == md) return {target, slot, true};
  return {scratch(i, Span::backward, md), slot, false};
}

void Lowering::close(int i, const Sink& s) {
  if (s.direct) return;
  const int t = fusion_.canonical(graph_.op(i).inputs.at(static_cast<size_t>(s.slot)));
  const bool first = writers_[static_cast<size_t>(t)].front() == std::make_pair(i, s.slot);
  add_reorder(i, true, graph_.op(i).name + ".d_in" + std::to_string(s.slot), s.mem, grad(t), !first);
}

void Lowering::append(Call c, bool backward) {
  if (backward) calls_.add_backward(std::move(c));
  else calls_.add_forward(std::move(c));
}

namespace {

// Update calls are Net::finalize's, reorder calls add_reorder's: they say their own pass.
bool runs_backward(Phase phase) {
  if (phase == Phase::update || phase == Phase::reorder)
    throw std::logic_error("add and add_kernel take forward, backward and communication calls only");
  return phase != Phase::fwd;
}

}  // namespace

void Lowering::add(int i, Phase phase, const dnnl::primitive& p, const dnnl::primitive_desc_base& pd,
                   std::unordered_map<int, memory> args) {
  Call c;
  c.op = i;
  c.phase = phase;
  c.name = graph_.op(i).name;
  c.prim = p;
  c.args = std::move(args);
  c.scratchpad = pd.scratchpad_desc();
  c.impl = pd.impl_info_str();
  append(std::move(c), runs_backward(phase));
}

void Lowering::add_kernel(int i, Phase phase, const std::string& impl, std::function<void()> k, std::vector<memory> uses) {
  Call c;
  c.op = i;
  c.phase = phase;
  c.name = graph_.op(i).name;
  c.kernel = std::move(k);
  c.uses = std::move(uses);
  c.impl = impl;
  append(std::move(c), runs_backward(phase));
}

void Lowering::add_reorder(int i, bool backward, const std::string& what, const memory& src, const memory& dst,
                           bool accumulate) {
  dnnl::primitive_attr attr = make_attr();
  if (accumulate) {
    dnnl::post_ops po;
    po.append_sum(1.f);
    attr.set_post_ops(po);
  }
  const double bytes = static_cast<double>(src.get_desc().get_size() + dst.get_desc().get_size() * (accumulate ? 2 : 1));
  add_reorder_call(i, backward, what + ":" + (accumulate ? "accumulate" : "reorder"), src, dst, attr, bytes);
}

void Lowering::add_quantize(int i, const std::string& what, const memory& src, const memory& dst,
                            const dnnl::primitive_attr& attr) {
  add_reorder_call(i, false, what, src, dst, attr, static_cast<double>(src.get_desc().get_size() + dst.get_desc().get_size()));
}

void Lowering::add_reorder_call(int i, bool backward, const std::string& name, const memory& src, const memory& dst,
                                const dnnl::primitive_attr& attr, double bytes) {
  dnnl::reorder::primitive_desc pd(engine_, src.get_desc(), engine_, dst.get_desc(), attr);
  Call c;
  c.op = i;
  c.phase = Phase::reorder;
  c.name = name;
  c.prim = dnnl::reorder(pd);
  c.args = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
  c.scratchpad = pd.scratchpad_desc();
  c.impl = pd.impl_info_str();
  c.bytes = bytes;
  append(std::move(c), backward);
}

}  // namespace paradnn::cpu
