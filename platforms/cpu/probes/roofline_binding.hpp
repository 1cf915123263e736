// Pins the probe's OpenMP threads one per physical core (hwloc), so a rate at N threads is
// N cores' rate and not two threads sharing one core; undone when the scope ends, so the
// threads that later run models get back the placement they had.
#pragma once
#include <string>
#include <vector>

namespace paradnn::cpu {

class CoreBinding {
 public:
  explicit CoreBinding(int threads);  // OpenMP thread i -> core i (hwloc logical index)
  ~CoreBinding();
  CoreBinding(const CoreBinding&) = delete;
  CoreBinding& operator=(const CoreBinding&) = delete;

  // How the threads were placed, e.g. "OpenMP thread i -> core i (hwloc), 2 threads".
  const std::string& describe() const { return description_; }

 private:
  int threads_;
  int previous_max_threads_;
  std::vector<std::string> previous_;  // each thread's cpuset before binding, as hwloc text
  std::string description_;
};

}  // namespace paradnn::cpu
