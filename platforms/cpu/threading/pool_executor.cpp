#include "platforms/cpu/threading/pool_executor.hpp"

#include <omp.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "platforms/cpu/threading/affinity.hpp"

namespace paradnn::cpu {

PoolExecutable::PoolExecutable(std::vector<std::unique_ptr<Executable>> instances, const Settings& s,
                               const Spawn& spawn)
    : instances_(std::move(instances)),
      settings_(s),
      intervals_(instances_.size()),
      errors_(instances_.size()),
      start_(static_cast<std::ptrdiff_t>(instances_.size() + 1)),
      end_(static_cast<std::ptrdiff_t>(instances_.size() + 1)) {
  workers_.reserve(instances_.size());
  try {
    for (size_t i = 0; i < instances_.size(); ++i) {
      std::function<void()> body = [this, i] { work(i); };
      workers_.push_back(spawn ? spawn(std::move(body)) : std::thread(std::move(body)));
    }
  } catch (const std::exception& e) {
    // Destroying a joinable std::thread terminates the process: stop and join first.
    const size_t started = workers_.size();
    stop_started_workers();
    throw std::runtime_error("cannot start inter-op pool thread " + std::to_string(started + 1) + " of " +
                             std::to_string(instances_.size()) + ": " + e.what() +
                             " (fewer --pools, or raise the thread or memory limit)");
  }
}

void PoolExecutable::stop_started_workers() {
  quit_ = true;
  // The barriers expect every worker; those never started drop out, so the started ones
  // pass the start barrier, see quit_ and return.
  for (size_t i = workers_.size(); i < instances_.size(); ++i) start_.arrive_and_drop();
  start_.arrive_and_wait();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

PoolExecutable::~PoolExecutable() { stop_started_workers(); }

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
