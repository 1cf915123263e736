#include "runners/harness/json_output.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "paradnn/atomic_file.hpp"
#include "paradnn/csv.hpp"

namespace paradnn {

namespace {

using nlohmann::json;

// A cell as a JSON number where all of it parses as a finite one, else as a string.
json cell_value(const std::string& s) {
  double d = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d)) return s;
  long long i = 0;
  const auto [iend, iec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (iec == std::errc() && iend == s.data() + s.size()) return i;  // keep integers integral
  return d;
}

json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    json o = json::object();
    for (const auto& kv : n) o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return o;
  }
  if (n.IsSequence()) {
    json a = json::array();
    for (const auto& e : n) a.push_back(yaml_to_json(e));
    return a;
  }
  if (n.IsScalar()) return cell_value(n.Scalar());
  return nullptr;
}

// The manifest's top-level fields; with a `runs:` list, also the latest run's fields (the
// one the results were last written by) and the whole list under "runs".
json context_of(const std::string& manifest_path) {
  const YAML::Node m = YAML::LoadFile(manifest_path);
  json context = json::object();
  if (m.IsMap()) {
    for (const auto& kv : m) context[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    const YAML::Node runs = m["runs"];
    if (runs && runs.IsSequence() && runs.size() > 0 && runs[runs.size() - 1].IsMap())
      for (const auto& kv : runs[runs.size() - 1])
        if (!context.contains(kv.first.as<std::string>())) context[kv.first.as<std::string>()] = yaml_to_json(kv.second);
  }
  context["paradnn_schema_version"] = 1;
  return context;
}

json benchmark_of(const Row& row) {
  const auto get = [&](const char* c) {
    const auto it = row.find(c);
    return it == row.end() ? json() : cell_value(it->second);
  };
  json b = json::object();
  for (const auto& [column, value] : row)
    if (!value.empty()) b[column] = cell_value(value);
  b["name"] = get("point_key");
  b["run_name"] = get("point_key");
  b["run_type"] = "iteration";
  b["time_unit"] = "s";
  // Google Benchmark's names for the same numbers; absent cells stay absent.
  for (const auto& [gb, column] : {std::pair{"repetitions", "repetitions"}, {"real_time", "time_per_step_s_median"},
                                   {"cpu_time", "time_per_step_s_median"}, {"items_per_second", "examples_per_s"}})
    if (const json v = get(column); v.is_number()) b[gb] = v;
  return b;
}

}  // namespace

void write_results_json(const std::string& csv_path, const std::string& manifest_path, const std::string& json_path) {
  const CsvTable table = read_csv(csv_path);
  json doc = json::object();
  doc["context"] = context_of(manifest_path);
  doc["benchmarks"] = json::array();
  for (const Row& row : table.rows) doc["benchmarks"].push_back(benchmark_of(row));
  write_file_atomically(json_path, doc.dump(2) + "\n");
}

}  // namespace paradnn
