// Progress of a point loop on stderr: on a terminal a one-line bar with ETA naming the point
// in flight; elsewhere (Slurm logs, CI, 2>log) one line per finished point.
#pragma once
#include <chrono>
#include <cstddef>
#include <string>

namespace paradnn {

class Progress {
 public:
  enum class Style { off, bar, lines };
  Progress(size_t total, Style style);
  // The style for stderr as it is: a bar on a terminal, lines elsewhere, nothing when off.
  static Style for_stderr(bool enabled);

  void start(const std::string& label);  // a point begins: "<model> <mode> <dtype> batch=<b>"
  // It ended with `status`; `examples_per_s` is the row's rate text (empty where none).
  void finish(const std::string& status, const std::string& examples_per_s);
  void done();                            // clears the bar

 private:
  void draw() const;
  std::string eta() const;
  double elapsed() const;
  size_t total_, finished_ = 0;
  Style style_;
  std::string label_;
  std::chrono::steady_clock::time_point t0_;
};

// "1m05s": how progress writes durations.
std::string format_duration(double seconds);

}  // namespace paradnn
