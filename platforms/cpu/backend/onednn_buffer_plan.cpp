#include "platforms/cpu/backend/onednn_buffer_plan.hpp"

#include <algorithm>
#include <stdexcept>

namespace paradnn::cpu {

namespace {

std::vector<int> holders(const Graph& g, const FusionPlan& fusion) {
  std::vector<int> h;
  for (size_t i = 0; i < g.ops.size(); ++i) h.push_back(fusion.canonical(static_cast<int>(i)));
  return h;
}

}  // namespace

BufferPlan::BufferPlan(const Graph& g, const FusionPlan& fusion, Mode m, Buffers policy, const dnnl::engine& e,
                       std::optional<ArenaLayout> layout)
    : share_(policy == Buffers::shared),
      engine_(e),
      time_(static_cast<int>(g.ops.size()), m),
      holder_(holders(g, fusion)),
      life_(tensor_lifetimes(g, m, holder_)),
      layout_(std::move(layout)),
      output_request_(g.ops.size(), -1),
      gradient_request_(g.ops.size(), -1) {
  if (layout_) arena_ = memory(memory::desc({static_cast<memory::dim>(std::max<size_t>(layout_->bytes, 1))}, Dt::u8, Tag::a), engine_);
}

memory BufferPlan::output(int t, const memory::desc& md) {
  const Interval live = life_.output[static_cast<size_t>(t)];
  return share_ && live.hi > t ? pooled(live, md, &output_request_[static_cast<size_t>(t)]) : memory(md, engine_);
}

memory BufferPlan::gradient(int t, const memory::desc& md, bool written_first) {
  const bool share = share_ && time_.training() && written_first;
  return share ? pooled(life_.gradient[static_cast<size_t>(t)], md, &gradient_request_[static_cast<size_t>(t)])
               : memory(md, engine_);
}

memory BufferPlan::scratch(int i, Span span, const memory::desc& md) {
  if (!share_) return memory(md, engine_);
  const int lo = span == Span::backward ? time_.bwd(i) : time_.fwd(i);
  const int hi = span == Span::forward ? time_.fwd(i) : time_.bwd(i);
  return pooled({lo, hi}, md, nullptr);
}

memory BufferPlan::pooled(Interval live, const memory::desc& md, int* request) {
  const size_t k = requests_.size();
  requests_.push_back({md.get_size(), live});
  if (request) *request = static_cast<int>(k);
  if (!layout_) return memory(md, engine_, DNNL_MEMORY_NONE);  // recording: nothing runs
  if (k >= layout_->requests.size() || layout_->requests[k].bytes != md.get_size() ||
      layout_->requests[k].live.lo != live.lo || layout_->requests[k].live.hi != live.hi)
    throw std::logic_error("buffer plan: the lowering asked for other buffers than when it was laid out (request " +
                           std::to_string(k) + ")");
  memory m(md, engine_, static_cast<char*>(arena_.get_data_handle()) + layout_->offsets[k]);
  handed_out_[m.get()] = {m, live};
  return m;
}

bool BufferPlan::intact(const std::vector<int>& request_of, int t) const {
  const int k = request_of[static_cast<size_t>(holder_[static_cast<size_t>(t)])];
  return k < 0 || !layout_ || layout_->kept_after_step(static_cast<size_t>(k));
}

std::vector<std::string> BufferPlan::misuses(const CallList& calls) const {
  if (!layout_) return {};
  const char* base = static_cast<const char*>(arena_.get_data_handle());
  std::multimap<const void*, Interval> starting_at;  // the buffers laid out at each address
  for (size_t k = 0; k < layout_->requests.size(); ++k) starting_at.insert({base + layout_->offsets[k], layout_->requests[k].live});
  std::vector<std::string> out;
  for (const auto& [call, t] : calls.timed_by(time_)) {
    auto check = [&, call = call, t = t](const memory& m, const std::string& arg) {
      if (!m) return;
      auto live_now = [t = t](const Interval& v) { return v.lo <= t && t <= v.hi; };
      std::string planned;
      if (const auto own = handed_out_.find(m.get()); own != handed_out_.end()) {
        const Interval v = own->second.second;
        if (!live_now(v)) planned = "[" + std::to_string(v.lo) + ", " + std::to_string(v.hi) + "]";
      } else if (starting_at.count(m.get_data_handle())) {
        const auto [lo, hi] = starting_at.equal_range(m.get_data_handle());
        if (std::none_of(lo, hi, [&](const auto& e) { return live_now(e.second); })) planned = "none of the intervals laid out there";
      }
      if (!planned.empty())
        out.push_back(call->name + " (" + call->impl + ", argument " + arg + ") at step time " + std::to_string(t) +
                      " uses a shared buffer planned for " + planned);
    };
    for (const auto& [arg, m] : call->args)
      if (arg != DNNL_ARG_SCRATCHPAD) check(m, std::to_string(arg));
    for (size_t k = 0; k < call->uses.size(); ++k) check(call->uses[k], "uses[" + std::to_string(k) + "]");
  }
  return out;
}

}  // namespace paradnn::cpu
