#include "platforms/cpu/onednn_net.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <stdexcept>

namespace paradnn::cpu {

Dt to_dnnl(DType t) {
  switch (t) {
    case DType::f32: return Dt::f32;
    case DType::bf16: return Dt::bf16;
    case DType::f16: return Dt::f16;
    case DType::int8: return Dt::s8;
    case DType::s32: return Dt::s32;
    default: throw std::invalid_argument("the CPU backend has no " + std::string(to_string(t)) + " tensors");
  }
}

Tag plain_tag(size_t rank) {
  static const Tag tags[] = {Tag::undef, Tag::a, Tag::ab, Tag::abc, Tag::abcd, Tag::abcde};
  if (rank == 0 || rank > 5) throw std::invalid_argument("tensor rank " + std::to_string(rank) + " unsupported");
  return tags[rank];
}

memory::desc plain_desc(const Dims& dims, Dt type) {
  return memory::desc(memory::dims(dims.begin(), dims.end()), type, plain_tag(dims.size()));
}

dnnl::algorithm eltwise_algorithm(Activation a, bool use_dst_for_bwd) {
  switch (a) {
    case Activation::relu: return use_dst_for_bwd ? dnnl::algorithm::eltwise_relu_use_dst_for_bwd : dnnl::algorithm::eltwise_relu;
    case Activation::tanh: return use_dst_for_bwd ? dnnl::algorithm::eltwise_tanh_use_dst_for_bwd : dnnl::algorithm::eltwise_tanh;
    case Activation::gelu: return dnnl::algorithm::eltwise_gelu_tanh;
    case Activation::none: break;
  }
  throw std::logic_error("no eltwise algorithm for this activation");
}

dnnl::primitive_attr make_attr(Activation post) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (post != Activation::none) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, eltwise_algorithm(post, false), 0.f, 0.f);
    attr.set_post_ops(po);
  }
  return attr;
}

namespace {

bool fusable_producer(const Op& p) {
  return p.kind == OpKind::dense || p.kind == OpKind::conv || p.kind == OpKind::batch_norm ||
         (p.kind == OpKind::add && p.inputs.size() == 2);
}

}  // namespace

Net::Net(const Graph& g, Mode m, bool fuse, Buffers buffers)
    : graph_(g), mode_(m), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_), buffers_(buffers) {
  const size_t n = graph_.ops.size();
  post_.assign(n, Activation::none);
  fused_away_.assign(n, false);
  needs_grad_.assign(n, false);
  alias_of_.assign(n, -1);
  folded_norm_.assign(n, -1);
  out_scale_.assign(n, 1.f);
  writers_.resize(n);
  y_.resize(n);
  dy_.resize(n);
  dy_converted_.resize(n);
  fwd_.resize(n);
  bwd_.resize(n);
  rule_.optimizer = graph_.optimizer;

  const std::vector<int> consumers = graph_.consumer_counts();
  // int8 inference folds a batch norm that alone reads a conv into the conv's weights and
  // bias (as IntelCaffe's int8 inference does): the norm runs no call of its own.
  for (size_t i = 0; i < n; ++i) {
    const Op& op = graph_.ops[i];
    if (!fuse || training() || op.kind != OpKind::batch_norm) continue;
    const int p = op.inputs.at(0);
    if (graph_.op(p).kind != OpKind::conv || graph_.op(p).dtype != DType::int8 || consumers[static_cast<size_t>(p)] != 1) continue;
    folded_norm_[static_cast<size_t>(p)] = static_cast<int>(i);
    fused_away_[i] = true;
    alias_of_[i] = p;
  }
  // A ReLU whose producer feeds only it runs as the producer's post-op (the conv's, where
  // the producer is a folded norm).
  for (size_t i = 0; i < n; ++i) {
    const Op& op = graph_.ops[i];
    if (!fuse || op.kind != OpKind::relu) continue;
    const int p = op.inputs.at(0);
    const Op& prod = graph_.op(p);
    if (consumers[static_cast<size_t>(p)] != 1 || !fusable_producer(prod) || prod.dtype != op.dtype) continue;
    post_[static_cast<size_t>(canonical(p))] = Activation::relu;
    fused_away_[i] = true;
    alias_of_[i] = p;
  }
  std::vector<int> holder(n);
  for (size_t i = 0; i < n; ++i) holder[i] = canonical(static_cast<int>(i));
  live_ = lifetimes(graph_, holder);
  slot_of_.assign(n, -1);
  if (!training()) return;
  for (size_t i = 0; i < n; ++i) {
    const Op& op = graph_.ops[i];
    if (data_op(static_cast<int>(i))) continue;
    bool any = !op.params.empty() || op.shares_params_with >= 0;
    for (int x : op.inputs) any = any || needs_grad_[static_cast<size_t>(x)];
    needs_grad_[i] = any;
  }
  // Who writes each tensor's gradient, in the order the backward pass runs.
  for (int i = static_cast<int>(n) - 1; i >= 0; --i) {
    if (fused_away(i)) continue;
    const Op& op = graph_.op(i);
    for (int s = 0; s < static_cast<int>(op.inputs.size()); ++s)
      if (needs_input_grad(i, s)) writers_[static_cast<size_t>(canonical(op.inputs[s]))].push_back({i, s});
  }
}

bool Net::data_op(int t) const {
  const OpKind k = graph_.op(t).kind;
  return k == OpKind::input || k == OpKind::token_input;
}

int Net::canonical(int t) const {
  while (alias_of_[static_cast<size_t>(t)] >= 0) t = alias_of_[static_cast<size_t>(t)];
  return t;
}

bool Net::needs_input_grad(int i, int slot) const {
  if (!training() || fused_away(i)) return false;
  const Op& op = graph_.op(i);
  return op.needs_input_grad && needs_grad_[static_cast<size_t>(canonical(op.inputs.at(static_cast<size_t>(slot))))];
}

memory::desc Net::input_desc(int i, int slot, Dt type) const {
  const int t = graph_.op(i).inputs.at(static_cast<size_t>(slot));
  if (y_[static_cast<size_t>(t)]) return y_[static_cast<size_t>(t)].get_desc();
  return plain_desc(graph_.dims_of(t), graph_.op(t).kind == OpKind::token_input ? Dt::s32 : type);
}

memory Net::input(int i, int slot, const memory::desc& want) {
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

void Net::set_output(int i, const memory& y) { y_[static_cast<size_t>(i)] = y; }

memory Net::new_output(int i, const memory::desc& md) {
  // An output nothing reads inside the step (the loss) keeps its own buffer for read-back.
  const bool share = !training() && buffers_ == Buffers::shared && live_[static_cast<size_t>(i)].second > i;
  memory y = share ? pooled(i, md) : memory(md, engine_);
  set_output(i, y);
  return y;
}

memory Net::pooled(int t, const memory::desc& md) {
  const auto [lo, hi] = live_[static_cast<size_t>(t)];
  const int k = pool_.place(md.get_size(), lo, hi);
  if (k == static_cast<int>(slots_.size()))
    slots_.emplace_back(memory::desc({static_cast<memory::dim>(md.get_size())}, Dt::u8, Tag::a), engine_);
  slot_of_[static_cast<size_t>(t)] = k;
  return memory(md, engine_, slots_[static_cast<size_t>(k)].get_data_handle());
}

memory Net::grad(int i) {
  const int c = canonical(i);
  memory& g = dy_[static_cast<size_t>(c)];
  if (g) return g;
  const memory::desc md = y_[static_cast<size_t>(c)].get_desc();
  // Shared storage only for a gradient that is written before it is read in every step;
  // one that nothing writes stays a private zero buffer.
  const bool share = training() && buffers_ == Buffers::shared && !writers_[static_cast<size_t>(c)].empty();
  g = share ? pooled(c, md) : memory(md, engine_);
  std::memset(g.get_data_handle(), 0, md.get_size());
  return g;
}

bool Net::intact(int t) const {
  const int c = canonical(t), k = slot_of_[static_cast<size_t>(c)];
  if (k < 0) return true;
  const auto [lo, hi] = live_[static_cast<size_t>(c)];
  const auto& uses = pool_.slot(k).uses;
  // Training shares gradients, used from high op indices to low; inference outputs, low to high.
  return std::none_of(uses.begin(), uses.end(), [&](const auto& u) { return training() ? u.second < lo : u.first > hi; });
}

bool Net::alias_grad(int i, const memory& g) {
  memory& d = dy_[static_cast<size_t>(canonical(i))];
  if (d) return false;
  d = g;
  return true;
}

memory Net::grad_as(int i, const memory::desc& want) {
  for (const memory& m : dy_converted_[static_cast<size_t>(i)])
    if (m.get_desc() == want) return m;
  memory g = in_layout(i, true, graph_.op(i).name + ".d_out", grad(i), want);
  dy_converted_[static_cast<size_t>(i)].push_back(g);
  return g;
}

memory Net::in_layout(int i, bool backward, const std::string& what, const memory& src, const memory::desc& want) {
  if (src.get_desc() == want) return src;
  memory converted(want, engine_);
  add_reorder(i, backward, what, src, converted);
  return converted;
}

Sink Net::sink(int i, int slot, const memory::desc& md) {
  const int t = canonical(graph_.op(i).inputs.at(static_cast<size_t>(slot)));
  memory target = grad(t);
  const auto& w = writers_[static_cast<size_t>(t)];
  const bool first = !w.empty() && w.front() == std::make_pair(i, slot);
  if (first && target.get_desc() == md) return {target, slot, true};
  return {memory(md, engine_), slot, false};
}

void Net::close(int i, const Sink& s) {
  if (s.direct) return;
  const int t = canonical(graph_.op(i).inputs.at(static_cast<size_t>(s.slot)));
  const bool first = writers_[static_cast<size_t>(t)].front() == std::make_pair(i, s.slot);
  add_reorder(i, true, graph_.op(i).name + ".d_in" + std::to_string(s.slot), s.mem, grad(t), !first);
}

void Net::add(int i, const std::string& phase, const dnnl::primitive& p, const dnnl::primitive_desc_base& pd,
              std::unordered_map<int, memory> args) {
  Call c;
  c.op = i;
  c.phase = phase;
  c.name = graph_.op(i).name;
  c.prim = p;
  c.args = std::move(args);
  c.scratchpad = pd.scratchpad_desc();
  c.impl = pd.impl_info_str();
  (phase == "fwd" ? fwd_ : bwd_)[static_cast<size_t>(i)].push_back(std::move(c));
}

void Net::add_kernel(int i, const std::string& phase, const std::string& impl, std::function<void()> k) {
  Call c;
  c.op = i;
  c.phase = phase;
  c.name = graph_.op(i).name;
  c.kernel = std::move(k);
  c.impl = impl;
  (phase == "fwd" ? fwd_ : bwd_)[static_cast<size_t>(i)].push_back(std::move(c));
}

void Net::add_reorder(int i, bool backward, const std::string& what, const memory& src, const memory& dst,
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

void Net::add_reorder_call(int i, bool backward, const std::string& name, const memory& src, const memory& dst,
                           const dnnl::primitive_attr& attr, double bytes) {
  dnnl::reorder::primitive_desc pd(engine_, src.get_desc(), engine_, dst.get_desc(), attr);
  Call c;
  c.op = i;
  c.phase = "reorder";
  c.name = name;
  c.prim = dnnl::reorder(pd);
  c.args = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
  c.scratchpad = pd.scratchpad_desc();
  c.impl = pd.impl_info_str();
  c.bytes = bytes;
  (backward ? bwd_ : fwd_)[static_cast<size_t>(i)].push_back(std::move(c));
}

memory Net::quantized(int t, float scale, const memory::desc& want) const {
  const auto it = quantized_.find({t, scale});
  if (it != quantized_.end())
    for (const memory& m : it->second)
      if (m.get_desc() == want) return m;
  return memory();
}

void Net::add_quantize(int i, const std::string& what, const memory& src, const memory& dst, const dnnl::primitive_attr& attr) {
  add_reorder_call(i, false, what, src, dst, attr, static_cast<double>(src.get_desc().get_size() + dst.get_desc().get_size()));
}

void Net::finalize() {
  if (training()) {
    for (const auto& w : params_.all()) {
      if (!w->grad) continue;
      Call c;
      c.op = w->op;
      c.phase = "update";
      c.name = w->name;
      c.impl = std::string("paradnn:") + std::string(to_string(rule_.optimizer));
      const Weight* weight = w.get();
      const UpdateRule rule = rule_;
      c.kernel = [weight, rule] { ParamStore::update(*weight, rule); };
      update_.push_back(std::move(c));
      if (w->separate_master()) {
        dnnl::reorder::primitive_desc pd(engine_, w->master.get_desc(), engine_, w->w.get_desc(), make_attr());
        Call r;
        r.op = w->op;
        r.phase = "update";
        r.name = w->name + ":reorder";
        r.prim = dnnl::reorder(pd);
        r.args = {{DNNL_ARG_FROM, w->master}, {DNNL_ARG_TO, w->w}};
        r.scratchpad = pd.scratchpad_desc();
        r.impl = pd.impl_info_str();
        update_.push_back(std::move(r));
      }
    }
  }
  size_t scratch = 0;
  const auto calls = step_calls();
  for (const Call* c : calls) scratch = std::max(scratch, c->scratchpad.get_size());
  scratch_ = memory(memory::desc({static_cast<memory::dim>(std::max<size_t>(scratch, 1))}, Dt::u8, Tag::a), engine_);
  for (Call* c : calls) {
    if (!c->prim) continue;
    if (c->scratchpad.get_size() > 0)
      c->args[DNNL_ARG_SCRATCHPAD] = memory(c->scratchpad, engine_, scratch_.get_data_handle());
    c->c_args.clear();
    for (const auto& [arg, mem] : c->args) c->c_args.push_back({arg, mem.get()});
  }
}

std::vector<Call*> Net::step_calls() {
  std::vector<Call*> calls;
  for (auto& list : fwd_)
    for (Call& c : list) calls.push_back(&c);
  if (!training()) return calls;
  for (auto it = bwd_.rbegin(); it != bwd_.rend(); ++it)
    for (Call& c : *it) calls.push_back(&c);
  for (Call& c : update_) calls.push_back(&c);
  return calls;
}

void Net::run(Call& c) {
  if (!c.prim) {
    c.kernel();
    return;
  }
  const dnnl_status_t st =
      dnnl_primitive_execute(c.prim.get(), stream_.get(), static_cast<int>(c.c_args.size()), c.c_args.data());
  if (st != dnnl_success) throw std::runtime_error(c.name + ": oneDNN execution failed (status " + std::to_string(st) + ")");
}

void Net::forward() {
  for (auto& list : fwd_)
    for (Call& c : list) run(c);
}

void Net::backward() {
  for (auto it = bwd_.rbegin(); it != bwd_.rend(); ++it)
    for (Call& c : *it) run(c);
}

void Net::update() {
  for (Call& c : update_) run(c);
}

std::vector<std::pair<const Call*, double>> Net::timed_calls(int iterations) {
  const auto calls = step_calls();
  std::vector<std::pair<const Call*, double>> out;
  for (const Call* c : calls) out.push_back({c, 0.0});
  for (int it = 0; it < iterations; ++it) {
    for (size_t k = 0; k < calls.size(); ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      run(*calls[k]);
      stream_.wait();
      out[k].second += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  return out;
}

std::vector<int> Net::primitive_arg_counts() const {
  std::vector<int> n;
  auto tally = [&](const std::vector<Call>& list) {
    for (const Call& c : list)
      if (c.prim) n.push_back(static_cast<int>(c.c_args.size()));
  };
  for (const auto& list : fwd_) tally(list);
  if (!training()) return n;
  for (const auto& list : bwd_) tally(list);
  tally(update_);
  return n;
}

std::vector<std::string> Net::impls() const {
  std::set<std::string> seen;
  std::vector<std::string> out;
  auto note = [&](const Call& c) {
    if (!c.impl.empty() && seen.insert(c.impl).second) out.push_back(c.impl);
  };
  for (const auto& list : fwd_)
    for (const Call& c : list) note(c);
  for (const auto& list : bwd_)
    for (const Call& c : list) note(c);
  for (const Call& c : update_) note(c);
  return out;
}

}  // namespace paradnn::cpu
