#include "platforms/cpu/backend/onednn_call_list.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <stdexcept>

namespace paradnn::cpu {

CallList::CallList(size_t ops, const dnnl::engine& e, const dnnl::stream& s)
    : engine_(e), stream_(s), fwd_(ops), bwd_(ops) {}

void CallList::add_forward(Call c) { fwd_.at(static_cast<size_t>(c.op)).push_back(std::move(c)); }

void CallList::add_backward(Call c) { bwd_.at(static_cast<size_t>(c.op)).push_back(std::move(c)); }

void CallList::add_update(Call c) { update_.push_back(std::move(c)); }

void CallList::finalize() {
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

std::vector<Call*> CallList::step_calls() {
  std::vector<Call*> calls;
  for (auto& list : fwd_)
    for (Call& c : list) calls.push_back(&c);
  for (auto it = bwd_.rbegin(); it != bwd_.rend(); ++it)
    for (Call& c : *it) calls.push_back(&c);
  for (Call& c : update_) calls.push_back(&c);
  return calls;
}

std::vector<std::pair<const Call*, int>> CallList::timed_by(const StepTimeline& t) const {
  std::vector<std::pair<const Call*, int>> out;
  for (size_t i = 0; i < fwd_.size(); ++i)
    for (const Call& c : fwd_[i]) out.push_back({&c, t.fwd(static_cast<int>(i))});
  for (size_t i = bwd_.size(); i-- > 0;)
    for (const Call& c : bwd_[i]) out.push_back({&c, t.bwd(static_cast<int>(i))});
  for (const Call& c : update_) out.push_back({&c, t.end()});
  return out;
}

template <class F>
void CallList::each(F f) const {
  for (const auto& list : fwd_)
    for (const Call& c : list) f(c);
  for (const auto& list : bwd_)
    for (const Call& c : list) f(c);
  for (const Call& c : update_) f(c);
}

void CallList::run(Call& c) {
  if (!c.prim) {
    c.kernel();
    return;
  }
  const dnnl_status_t st =
      dnnl_primitive_execute(c.prim.get(), stream_.get(), static_cast<int>(c.c_args.size()), c.c_args.data());
  if (st != dnnl_success) throw std::runtime_error(c.name + ": oneDNN execution failed (status " + std::to_string(st) + ")");
}

void CallList::forward() {
  for (auto& list : fwd_)
    for (Call& c : list) run(c);
}

void CallList::backward() {
  for (auto it = bwd_.rbegin(); it != bwd_.rend(); ++it)
    for (Call& c : *it) run(c);
}

void CallList::update() {
  for (Call& c : update_) run(c);
}

std::vector<std::pair<const Call*, double>> CallList::timed_calls(int iterations) {
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

std::vector<int> CallList::primitive_arg_counts() const {
  std::vector<int> n;
  each([&](const Call& c) {
    if (c.prim) n.push_back(static_cast<int>(c.c_args.size()));
  });
  return n;
}

std::vector<std::string> CallList::impls() const {
  std::set<std::string> seen;
  std::vector<std::string> out;
  each([&](const Call& c) {
    if (!c.impl.empty() && seen.insert(c.impl).second) out.push_back(c.impl);
  });
  return out;
}

}  // namespace paradnn::cpu
