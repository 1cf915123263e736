#include "runners/drivers/merge.hpp"

#include <map>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "runners/drivers/sweep.hpp"

namespace paradnn {

namespace {

// Two rows are the same result when they agree on everything but when they were written.
bool same_result(const Row& a, const Row& b) {
  for (const auto& [k, v] : a)
    if (k != "timestamp_utc" && b.count(k) && b.at(k) != v) return false;
  return true;
}

}  // namespace

MergeResult merge_results(const std::vector<std::string>& inputs, const std::string& config_path) {
  if (inputs.empty()) throw InputError("merge needs at least one results file");
  MergeResult m;
  std::map<std::string, std::pair<std::string, int>> where;  // key -> file, line
  std::map<std::string, Row> by_key;
  std::vector<std::string> order;
  for (const std::string& path : inputs) {
    const CsvTable t = read_results(path);
    if (m.header.empty()) m.header = t.header;
    if (t.header != m.header)
      throw InputError(path + ":1: header differs from " + inputs.front() + "'s (different schema or version)");
    for (size_t i = 0; i < t.rows.size(); ++i) {
      const std::string& key = t.rows[i].at("point_key");
      auto it = by_key.find(key);
      if (it == by_key.end()) {
        by_key[key] = t.rows[i];
        where[key] = {path, t.lines[i]};
        order.push_back(key);
      } else if (same_result(it->second, t.rows[i])) {
        ++m.duplicates_dropped;
      } else {
        throw InputError(path + ":" + std::to_string(t.lines[i]) + ": point " + key + " conflicts with " +
                         where[key].first + ":" + std::to_string(where[key].second) + " (two different results)");
      }
    }
  }
  if (!config_path.empty()) {
    const Config c = load_config(config_path, models::catalog());
    std::vector<std::string> config_order;
    for (const GridEntry& e : select_points(c, "", "")) {
      const std::string key = e.point.key();
      if (by_key.count(key)) config_order.push_back(key);
      else m.missing.push_back(key);
    }
    for (const std::string& k : order)  // rows of points the config does not list come last
      if (std::find(config_order.begin(), config_order.end(), k) == config_order.end()) config_order.push_back(k);
    order = config_order;
  }
  for (const std::string& k : order) m.rows.push_back(by_key[k]);
  return m;
}

}  // namespace paradnn
