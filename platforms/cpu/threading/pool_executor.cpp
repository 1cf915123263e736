#include "platforms/cpu/threading/pool_executor.hpp"

#include <omp.h>

#include <utility>

#include "platforms/cpu/threading/affinity.hpp"

namespace paradnn::cpu {

PoolExecutable::PoolExecutable(std::vector<std::unique_ptr<Executable>> instances, const Settings& s)
    : instances_(std::move(instances)),
      settings_(s),
      intervals_(instances_.size()),
      errors_(instances_.size()),
      start_(static_cast<std::ptrdiff_t>(instances_.size() + 1)),
      end_(static_cast<std::ptrdiff_t>(instances_.size() + 1)) {
  for (size_t i = 0; i < instances_.size(); ++i) workers_.emplace_back([this, i] { work(i); });
}

PoolExecutable::~PoolExecutable() {
  quit_ = true;
  start_.arrive_and_wait();
  for (auto& w : workers_) w.join();
}

void PoolExecutable::work(size_t i) {
  const int intra = settings_.intra_threads > 0 ? settings_.intra_threads : 1;
  omp_set_num_threads(intra);
  bind_team(settings_.affinity, static_cast<int>(i), static_cast<int>(instances_.size()), intra);
  while (true) {
    start_.arrive_and_wait();
    if (quit_) return;
    intervals_[i].begin = Clock::now();
    try {
      instances_[i]->step();
    } catch (...) {
      errors_[i] = std::current_exception();
    }
    intervals_[i].end = Clock::now();
    end_.arrive_and_wait();
  }
}

void PoolExecutable::step() {
  start_.arrive_and_wait();
  end_.arrive_and_wait();
  for (auto& e : errors_)
    if (e) std::rethrow_exception(std::exchange(e, nullptr));
}

std::unique_ptr<Executable> prepare_with_settings(const std::function<std::unique_ptr<Executable>()>& make,
                                                  const Settings& s) {
  if (s.inter_pools <= 1) {
    if (s.intra_threads > 0) omp_set_num_threads(s.intra_threads);
    bind_team(s.affinity, 0, 1, s.intra_threads > 0 ? s.intra_threads : omp_get_max_threads());
    return make();
  }
  std::vector<std::unique_ptr<Executable>> instances;
  for (int i = 0; i < s.inter_pools; ++i) instances.push_back(make());
  return std::make_unique<PoolExecutable>(std::move(instances), s);
}

}  // namespace paradnn::cpu
