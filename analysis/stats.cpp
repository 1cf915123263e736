#include "analysis/stats.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace paradnn::analysis {

namespace {

// Ranks 1..n with ties sharing their mean rank; also sum(t^3 - t) over tie groups.
std::vector<double> ranks(const std::vector<double>& values, double& tie_term) {
  std::vector<size_t> order(values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return values[x] < values[y]; });
  std::vector<double> r(values.size());
  tie_term = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double t = static_cast<double>(j - i + 1);
    for (size_t k = i; k <= j; ++k) r[order[k]] = (static_cast<double>(i + j) / 2) + 1;
    tie_term += t * t * t - t;
    i = j + 1;
  }
  return r;
}

// P(U >= u) under the null: the share of the C(m+n, m) equally likely orders with U >= u.
// f[i][j][k], orders of i values of the first sample and j of the second with U = k: the
// largest value is either from the first sample (beating all j) or from the second.
double exact_upper_tail(int m, int n, double u) {
  std::vector<std::vector<std::vector<double>>> f(m + 1, std::vector<std::vector<double>>(n + 1));
  for (int i = 0; i <= m; ++i)
    for (int j = 0; j <= n; ++j) {
      f[i][j].assign(i * j + 1, 0);
      if (i == 0 || j == 0) {
        f[i][j][0] = 1;
        continue;
      }
      for (int k = 0; k <= i * j; ++k)
        f[i][j][k] = (k >= j && k - j <= (i - 1) * j ? f[i - 1][j][k - j] : 0) + (k <= i * (j - 1) ? f[i][j - 1][k] : 0);
    }
  double total = 0, tail = 0;
  for (int k = 0; k <= m * n; ++k) {
    total += f[m][n][k];
    if (k >= u - 1e-9) tail += f[m][n][k];
  }
  return tail / total;
}

}  // namespace

MannWhitney mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b) {
  MannWhitney r;
  if (a.empty() || b.empty()) return r;
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  double tie_term = 0;
  const std::vector<double> rk = ranks(all, tie_term);
  const double m = static_cast<double>(a.size()), n = static_cast<double>(b.size());
  double rank_sum = 0;
  for (size_t i = 0; i < a.size(); ++i) rank_sum += rk[i];
  r.u = rank_sum - m * (m + 1) / 2;
  const double u_big = std::max(r.u, m * n - r.u);  // two-sided: the larger tail, doubled
  r.exact = tie_term == 0 && a.size() + b.size() <= 40;
  if (r.exact) {
    r.p_value = std::min(1.0, 2 * exact_upper_tail(static_cast<int>(a.size()), static_cast<int>(b.size()), u_big));
    return r;
  }
  const double total = m + n;
  const double var = m * n / 12 * ((total + 1) - tie_term / (total * (total - 1)));
  if (!(var > 0)) return r;  // every value the same: nothing to tell apart
  const double z = (u_big - m * n / 2 - 0.5) / std::sqrt(var);
  r.p_value = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
  return r;
}

Interval bootstrap_geomean_interval(const std::vector<double>& ratios, double confidence, int resamples,
                                    std::uint64_t seed) {
  if (ratios.empty()) throw std::invalid_argument("bootstrap interval of no values");
  std::vector<double> logs;
  for (double v : ratios) {
    if (!(v > 0)) throw std::invalid_argument("bootstrap interval of a ratio <= 0");
    logs.push_back(std::log(v));
  }
  // Indices by modulo, not uniform_int_distribution, so every standard library draws the same.
  std::mt19937_64 rng(seed);
  std::vector<double> means(static_cast<size_t>(std::max(resamples, 1)));
  for (double& mean : means) {
    double sum = 0;
    for (size_t i = 0; i < logs.size(); ++i) sum += logs[rng() % logs.size()];
    mean = sum / static_cast<double>(logs.size());
  }
  std::sort(means.begin(), means.end());
  const auto at = [&](double q) {
    const size_t i = static_cast<size_t>(std::clamp(q * static_cast<double>(means.size() - 1), 0.0,
                                                    static_cast<double>(means.size() - 1)));
    return std::exp(means[i]);
  };
  const double tail = (1 - confidence) / 2;
  return {at(tail), at(1 - tail)};
}

}  // namespace paradnn::analysis
