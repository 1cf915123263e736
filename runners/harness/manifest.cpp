#include "runners/harness/manifest.hpp"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>

#include "paradnn/atomic_file.hpp"
#include "runners/harness/host_facts.hpp"
#include "runners/harness/result_row.hpp"

namespace paradnn {

std::string timing_method(const RunOptions& run) {
  std::string s = fmt::format("Google Benchmark: warm-up {} s, {} repetitions of at least {} s each, hot caches; "
                              "median, p10, p90 (linear interpolation) and min of the per-repetition mean step time",
                              run.warmup_s, run.repetitions, run.min_time_s);
  if (run.max_noise > 0)
    s += fmt::format("; then one more repetition at a time until their relative standard deviation is at most {} "
                     "or {} s are spent",
                     run.max_noise, run.max_time_s);
  return s;
}

ManifestInfo describe_run(const std::string& command, const Backend& backend, const Settings& settings,
                          const RunOptions& run) {
  ManifestInfo m;
  m.command = command;
  m.backend = backend.name();
  m.simulated = backend.simulated();
  m.machine = backend.platform();
  m.settings = {{"intra_threads", std::to_string(backend.threads_used(settings))},
                {"inter_pools", std::to_string(settings.inter_pools)},
                {"affinity", std::string(to_string(settings.affinity))}};
  m.method = timing_method(run);
  m.ceilings = "none (peak columns empty)";
  return m;
}

namespace {

YAML::Node run_entry(const ManifestInfo& m, const Config& c) {
  YAML::Node r;
  r["run_id"] = m.run_id;
  r["started_utc"] = utc_now();
  r["ended_utc"] = "";  // filled when the run ends; empty: it did not end cleanly
  r["command"] = m.command;
  r["backend"] = m.backend;
  r["source"] = m.simulated ? "simulated" : "measured";
  r["points"] = m.points;
  YAML::Node machine;
  machine["device_name"] = m.machine.device_name;
  machine["isa"] = m.machine.isa;
  machine["cores"] = m.machine.cores;
  machine["sockets"] = m.machine.sockets;
  machine["hardware_threads"] = m.machine.hardware_threads;
  machine["memory_bytes"] = m.machine.memory_bytes;
  for (const auto& [k, v] : host_facts()) machine[k] = v;
  r["machine"] = machine;
  YAML::Node versions;
  versions["paradnn"] = paradnn_version();
  versions["paradnn_commit"] = paradnn_commit();
  for (const auto& [k, v] : m.machine.versions) versions[k] = v;
  versions["compiler"] = __VERSION__;
  r["versions"] = versions;
  YAML::Node settings;
  for (const auto& [k, v] : m.settings) settings[k] = v;
  for (const char* env : {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "ONEDNN_MAX_CPU_ISA"})
    if (const char* v = std::getenv(env)) settings[env] = v;
  r["settings"] = settings;
  r["method"] = m.method;
  r["ceilings"] = m.ceilings;
  r["load"]["start"] = load_average();
  r["config_path"] = c.path;
  r["config"] = c.text;
  return r;
}

// The runs already in a manifest; a single-run manifest (a mapping with run_id) is one run.
YAML::Node earlier_runs(const std::string& path) {
  YAML::Node runs(YAML::NodeType::Sequence);
  if (!std::filesystem::is_regular_file(path)) return runs;
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ": cannot read the manifest to add this run: " + e.what());
  }
  if (doc["runs"] && doc["runs"].IsSequence()) return doc["runs"];
  if (doc.IsMap() && doc["run_id"]) runs.push_back(doc);
  return runs;
}

void write_runs(const std::string& path, const YAML::Node& runs) {
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "runs" << YAML::Value << YAML::BeginSeq;
  for (const YAML::Node& run : runs) {
    y << YAML::BeginMap;
    for (const auto& kv : run) {
      y << YAML::Key << kv.first;
      // The config as the user wrote it, lines and all.
      if (kv.first.as<std::string>() == "config" && kv.second.IsScalar()) y << YAML::Value << YAML::Literal << kv.second.as<std::string>();
      else y << YAML::Value << kv.second;
    }
    y << YAML::EndMap;
  }
  y << YAML::EndSeq << YAML::EndMap;
  write_file_atomically(path, std::string(y.c_str()) + "\n");
}

}  // namespace

void write_manifest(const std::string& path, const ManifestInfo& m, const Config& c, bool append) {
  YAML::Node runs = append ? earlier_runs(path) : YAML::Node(YAML::NodeType::Sequence);
  runs.push_back(run_entry(m, c));
  write_runs(path, runs);
}

void end_manifest_run(const std::string& path, const std::string& run_id, const std::vector<LoadRecord>& loads) {
  YAML::Node runs = earlier_runs(path);
  for (YAML::Node r : runs)
    if (r["run_id"] && r["run_id"].as<std::string>() == run_id) {
      r["ended_utc"] = utc_now();
      r["load"]["end"] = load_average();
      for (const LoadRecord& l : loads) {  // what else ran on our CPUs during each measurement
        YAML::Node m;
        m["what"] = l.what;
        m["busy"] = l.verdict.busy;
        m["seconds"] = format_number(l.verdict.seconds);
        m["others_cpus"] = format_number(l.verdict.others_cpus);
        m["steal_share"] = format_number(l.verdict.steal_share);
        m["loadavg1"] = fmt::format("{} -> {}", l.before.loadavg1, l.after.loadavg1);
        m["others_running"] = fmt::format("{} -> {}", l.before.others_running(), l.after.others_running());
        r["load"]["measurements"].push_back(m);
      }
    }
  write_runs(path, runs);
}

}  // namespace paradnn
