// A one-line progress bar with ETA on a terminal; silent when stderr is not a TTY.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>

namespace paradnn {

class Progress {
 public:
  Progress(size_t total, bool enabled);
  void start(const std::string& label);  // a point begins
  void finish();                          // it ended
  void done();                            // clears the line

 private:
  void draw() const;
  size_t total_, finished_ = 0;
  bool enabled_;
  std::string label_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace paradnn
