#include "analysis/roofline_data.hpp"

#include <fmt/core.h>

#include <map>

#include "analysis/workload.hpp"

namespace paradnn::analysis {

int write_roofline_points(const CsvTable& results, const std::string& path) {
  std::vector<Row> rows;
  for (const Row& r : results.rows) {
    const auto intensity = number(r, "arithmetic_intensity"), rate = number(r, "flops_per_s");
    if (status_of(r) != Status::ok || !intensity || !rate || !(*intensity > 0) || !(*rate > 0)) continue;
    rows.push_back({{"model_family", field(r, "model_family")},
                    {"mode", field(r, "mode")},
                    {"dtype", field(r, "dtype")},
                    {"model_name", field(r, "model_name")},
                    {"intensity_flops_per_byte", fmt::format("{:.6g}", *intensity)},
                    {"flops_per_s", fmt::format("{:.6g}", *rate)}});
  }
  write_csv_file(path, {"model_family", "mode", "dtype", "model_name", "intensity_flops_per_byte", "flops_per_s"}, rows);
  return static_cast<int>(rows.size());
}

void write_roofline_ceilings(const std::vector<Ceiling>& ceilings, const std::string& path) {
  std::vector<Row> rows;
  for (const Ceiling& c : ceilings)
    rows.push_back({{"kind", c.kind}, {"name", c.name}, {"value", fmt::format("{}", c.value)},
                    {"threads", std::to_string(c.threads)}, {"method", c.method}});
  write_csv_file(path, {"kind", "name", "value", "threads", "method"}, rows);
}

int typical_threads(const CsvTable& results) {
  std::map<int, int> votes;
  for (const Row& r : results.rows)
    if (status_of(r) == Status::ok) ++votes[static_cast<int>(number(r, "intra_threads").value_or(0))];
  int best = 0, most = 0;
  for (const auto& [threads, n] : votes)
    if (n > most) {
      best = threads;
      most = n;
    }
  return best;
}

}  // namespace paradnn::analysis
