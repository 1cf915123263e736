#include "runners/harness/manifest.hpp"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include "paradnn/atomic_file.hpp"
#include "runners/harness/result_row.hpp"

namespace paradnn {

std::string timing_method(const RunOptions& run) {
  return fmt::format("Google Benchmark: warm-up {} s, {} repetitions of at least {} s each, hot caches; "
                     "median, p10, p90 and min of the per-repetition mean step time",
                     run.warmup_s, run.repetitions, run.min_time_s);
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

void write_manifest(const std::string& path, const ManifestInfo& m, const Config& c) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "run_id" << YAML::Value << m.run_id;
  y << YAML::Key << "started_utc" << YAML::Value << utc_now();
  y << YAML::Key << "command" << YAML::Value << m.command;
  y << YAML::Key << "backend" << YAML::Value << m.backend;
  y << YAML::Key << "source" << YAML::Value << (m.simulated ? "simulated" : "measured");
  y << YAML::Key << "points" << YAML::Value << m.points;
  y << YAML::Key << "machine" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "device_name" << YAML::Value << m.machine.device_name;
  y << YAML::Key << "isa" << YAML::Value << m.machine.isa;
  y << YAML::Key << "cores" << YAML::Value << m.machine.cores;
  y << YAML::Key << "sockets" << YAML::Value << m.machine.sockets;
  y << YAML::Key << "hardware_threads" << YAML::Value << m.machine.hardware_threads;
  y << YAML::Key << "memory_bytes" << YAML::Value << m.machine.memory_bytes;
  y << YAML::EndMap;
  y << YAML::Key << "versions" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m.machine.versions) y << YAML::Key << k << YAML::Value << v;
  y << YAML::Key << "compiler" << YAML::Value << __VERSION__;
  y << YAML::Key << "paradnn" << YAML::Value << PARADNN_VERSION;
  y << YAML::EndMap;
  y << YAML::Key << "settings" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m.settings) y << YAML::Key << k << YAML::Value << v;
  for (const char* env : {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "ONEDNN_MAX_CPU_ISA"})
    if (const char* v = std::getenv(env)) y << YAML::Key << env << YAML::Value << v;
  y << YAML::EndMap;
  y << YAML::Key << "method" << YAML::Value << m.method;
  y << YAML::Key << "ceilings" << YAML::Value << m.ceilings;
  y << YAML::Key << "config_path" << YAML::Value << c.path;
  y << YAML::Key << "config" << YAML::Value << YAML::Literal << c.text;
  y << YAML::EndMap;
  write_file_atomically(path, std::string(y.c_str()) + "\n");
}

}  // namespace paradnn
