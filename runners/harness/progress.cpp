#include "runners/harness/progress.hpp"

#include <fmt/core.h>

namespace paradnn {

Progress::Progress(size_t total, bool enabled) : total_(total), enabled_(enabled), t0_(std::chrono::steady_clock::now()) {}

void Progress::start(const std::string& label) {
  label_ = label;
  draw();
}

void Progress::finish() {
  ++finished_;
  draw();
}

void Progress::done() {
  if (enabled_) fmt::print(stderr, "\r\033[K");
}

void Progress::draw() const {
  if (!enabled_ || total_ == 0) return;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * finished_ / total_);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  std::string eta = "--";
  if (finished_ > 0) {
    const int left = static_cast<int>(elapsed / static_cast<double>(finished_) * static_cast<double>(total_ - finished_));
    eta = fmt::format("{}m{:02}s", left / 60, left % 60);
  }
  std::string label = label_.size() > 60 ? label_.substr(0, 57) + "..." : label_;
  fmt::print(stderr, "\r\033[K[{}{}] {}/{} ETA {} {}", std::string(static_cast<size_t>(filled), '#'),
             std::string(static_cast<size_t>(kWidth - filled), '.'), finished_, total_, eta, label);
}

}  // namespace paradnn
