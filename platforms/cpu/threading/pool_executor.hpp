// Inter-op pools as real concurrent executors: `inter_pools` model instances, each stepped
// by its own std::thread that owns an OpenMP team of `intra_threads`. One step() of the
// pool steps every instance once, concurrently, and returns when all are done.
#pragma once
#include <barrier>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "platforms/backend.hpp"

namespace paradnn::cpu {

class PoolExecutable : public Executable {
 public:
  using Clock = std::chrono::steady_clock;
  struct Interval {
    Clock::time_point begin, end;
  };

  // Starts one thread; the default is std::thread. Tests inject one that fails.
  using Spawn = std::function<std::thread(std::function<void()>)>;

  // Throws std::runtime_error, with the threads already started stopped and joined, when a
  // worker thread cannot be created (thread or memory limits), so the point fails cleanly.
  PoolExecutable(std::vector<std::unique_ptr<Executable>> instances, const Settings& s, const Spawn& spawn = {});
  ~PoolExecutable() override;

  void step() override;
  double loss() const override { return instances_.front()->loss(); }
  std::string kernels() const override { return instances_.front()->kernels(); }
  // When each instance's last step ran, to show the pools overlap.
  const std::vector<Interval>& last_intervals() const { return intervals_; }

 private:
  void work(size_t i);
  void stop_started_workers();
  std::vector<std::unique_ptr<Executable>> instances_;
  Settings settings_;
  std::vector<Interval> intervals_;
  std::vector<std::exception_ptr> errors_;
  std::barrier<> start_, end_;
  bool quit_ = false;
  std::vector<std::thread> workers_;
};

// An executable under settings: one instance (made by `make`) on the calling thread, its
// OpenMP team sized and bound as asked, or a PoolExecutable of inter_pools instances.
std::unique_ptr<Executable> prepare_with_settings(const std::function<std::unique_ptr<Executable>()>& make,
                                                  const Settings& s);

}  // namespace paradnn::cpu
