#include "runners/harness/progress.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace paradnn {

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  return s >= 3600 ? fmt::format("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60) : fmt::format("{}m{:02}s", s / 60, s % 60);
}

Progress::Progress(size_t total, Style style) : total_(total), style_(style), t0_(std::chrono::steady_clock::now()) {}

Progress::Style Progress::for_stderr(bool enabled) {
  if (!enabled) return Style::off;
  return isatty(STDERR_FILENO) ? Style::bar : Style::lines;
}

void Progress::start(const std::string& label) {
  label_ = label;
  draw();
}

void Progress::finish(const std::string& status, const std::string& examples_per_s) {
  ++finished_;
  if (style_ == Style::lines) {
    // One whole line per point, flushed, so a log read while the run goes on is current.
    const std::string rate = examples_per_s.empty() ? "" : " " + examples_per_s + " ex/s";
    fmt::print(stderr, "[{}/{}] {}: {}{}, elapsed {}, ETA {}\n", finished_, total_, label_, status, rate,
               format_duration(elapsed()), eta());
    std::fflush(stderr);
  }
  draw();
}

void Progress::done() {
  if (style_ == Style::bar) fmt::print(stderr, "\r\033[K");
}

double Progress::elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

std::string Progress::eta() const {
  if (finished_ == 0) return "--";
  return format_duration(elapsed() / static_cast<double>(finished_) * static_cast<double>(total_ - finished_));
}

void Progress::draw() const {
  if (style_ != Style::bar || total_ == 0) return;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * finished_ / total_);
  const std::string label = label_.size() > 60 ? label_.substr(0, 57) + "..." : label_;
  fmt::print(stderr, "\r\033[K[{}{}] {}/{} ETA {} {}", std::string(static_cast<size_t>(filled), '#'),
             std::string(static_cast<size_t>(kWidth - filled), '.'), finished_, total_, eta(), label);
}

}  // namespace paradnn
