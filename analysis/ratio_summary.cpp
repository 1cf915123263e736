#include "analysis/ratio_summary.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace paradnn::analysis {

double geometric_mean(const std::vector<double>& values) {
  if (values.empty()) throw std::invalid_argument("geometric mean of no values");
  double log_sum = 0;  // in logs, so thousands of large ratios cannot overflow
  for (double v : values) {
    if (!(v > 0)) throw std::invalid_argument("geometric mean of a value <= 0: " + std::to_string(v));
    log_sum += std::log(v);
  }
  return std::exp(log_sum / static_cast<double>(values.size()));
}

RatioSummary summarize_ratios(const std::vector<double>& values) {
  RatioSummary s;
  if (values.empty()) return s;
  s.count = static_cast<int>(values.size());
  s.geomean = geometric_mean(values);
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  s.min = *lo;
  s.max = *hi;
  return s;
}

}  // namespace paradnn::analysis
