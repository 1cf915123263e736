#include "platforms/cpu/backend/onednn_buffer_plan.hpp"

#include <algorithm>

namespace paradnn::cpu {

BufferPlan::BufferPlan(const Graph& g, const FusionPlan& fusion, Mode m, Buffers policy, const dnnl::engine& e)
    : training_(m == Mode::train), share_(policy == Buffers::shared), engine_(e), slot_of_(g.ops.size(), -1) {
  for (size_t i = 0; i < g.ops.size(); ++i) holder_.push_back(fusion.canonical(static_cast<int>(i)));
  live_ = lifetimes(g, holder_);
}

memory BufferPlan::output(int t, const memory::desc& md) {
  const bool share = !training_ && share_ && live_[static_cast<size_t>(t)].second > t;
  return share ? pooled(t, md) : memory(md, engine_);
}

memory BufferPlan::gradient(int t, const memory::desc& md, bool written_first) {
  const bool share = training_ && share_ && written_first;
  return share ? pooled(t, md) : memory(md, engine_);
}

memory BufferPlan::pooled(int t, const memory::desc& md) {
  const auto [lo, hi] = live_[static_cast<size_t>(t)];
  const int k = pool_.place(md.get_size(), lo, hi);
  if (k == static_cast<int>(slots_.size()))
    slots_.emplace_back(memory::desc({static_cast<memory::dim>(md.get_size())}, Dt::u8, Tag::a), engine_);
  slot_of_[static_cast<size_t>(t)] = k;
  return memory(md, engine_, slots_[static_cast<size_t>(k)].get_data_handle());
}

bool BufferPlan::intact(int t) const {
  const int c = holder_[static_cast<size_t>(t)], k = slot_of_[static_cast<size_t>(c)];
  if (k < 0) return true;
  const auto [lo, hi] = live_[static_cast<size_t>(c)];
  const auto& uses = pool_.slot(k).uses;
  // Training shares gradients, used from high op indices to low; inference outputs, low to high.
  return std::none_of(uses.begin(), uses.end(), [&](const auto& u) { return training_ ? u.second < lo : u.first > hi; });
}

}  // namespace paradnn::cpu
