#include "analysis/workload.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace paradnn::analysis {

std::string field(const Row& row, const std::string& column) {
  const auto it = row.find(column);
  return it == row.end() ? std::string() : it->second;
}

std::string workload_key(const Row& row) {
  std::string hp;
  for (const std::string& c : hyperparameter_columns())
    if (const std::string v = field(row, c); !v.empty()) hp += (hp.empty() ? "" : ",") + c + "=" + v;
  return field(row, "model_family") + ":" + hp + ":" + field(row, "mode") + ":" + field(row, "dtype") +
         ":batch=" + field(row, "batch");
}

std::optional<double> number(const Row& row, const std::string& column) {
  const std::string v = field(row, column);
  if (v.empty()) return std::nullopt;
  double d = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return d;
}

std::string Group::label() const { return family + " " + mode + " " + dtype; }

Group group_of(const Row& row) { return {field(row, "model_family"), field(row, "mode"), field(row, "dtype")}; }

std::map<Group, std::vector<const Row*>> ok_rows_by_group(const CsvTable& table) {
  std::map<Group, std::vector<const Row*>> groups;
  const bool has_status = std::find(table.header.begin(), table.header.end(), "status") != table.header.end();
  for (const Row& r : table.rows)
    if (!has_status || status_of(r) == Status::ok) groups[group_of(r)].push_back(&r);
  return groups;
}

std::vector<std::string> varying_columns(const std::vector<const Row*>& rows,
                                         const std::vector<std::string>& candidates) {
  std::vector<std::pair<size_t, std::string>> found;
  for (const std::string& c : candidates) {
    std::set<std::string> values;
    for (const Row* r : rows) values.insert(field(*r, c));
    if (values.size() > 1) found.emplace_back(values.size(), c);
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (const auto& f : found) out.push_back(f.second);
  return out;
}

std::vector<std::string> workload_axes() {
  std::vector<std::string> axes = hyperparameter_columns();
  axes.push_back("batch");
  return axes;
}

}  // namespace paradnn::analysis
