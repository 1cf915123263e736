// Results as one JSON document shaped like Google Benchmark's output, so tools that read
// that format (compare.py, dashboards) can be pointed at a paradnn run.
#pragma once
#include <string>

namespace paradnn {

// Reads the results CSV and the manifest YAML (a mapping, or one with a `runs:` list) and
// writes {"context": {manifest fields, paradnn_schema_version}, "benchmarks": [one per row]}
// to `json_path` atomically. Each benchmark carries Google Benchmark's fields (name,
// run_name, run_type, repetitions, real_time, cpu_time, time_unit, items_per_second) and
// every non-empty CSV cell, as a number where it parses as one.
void write_results_json(const std::string& csv_path, const std::string& manifest_path, const std::string& json_path);

}  // namespace paradnn
