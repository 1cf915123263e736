#include "runners/drivers/settings_file.hpp"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <fstream>

#include "paradnn/error.hpp"

namespace paradnn {

std::optional<Settings> SettingsFile::lookup(const std::string& family, int64_t batch) const {
  for (const SettingsRule& r : rules)
    if ((r.family == family || r.family == "*") && batch >= r.batch_min && batch <= r.batch_max) return r.settings;
  return std::nullopt;
}

void save_settings_file(const SettingsFile& f, const std::string& path) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "platform" << YAML::Value << f.platform;
  y << YAML::Key << "generated_utc" << YAML::Value << f.generated_utc;
  y << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const SettingsRule& r : f.rules) {
    y << YAML::BeginMap;
    y << YAML::Key << "family" << YAML::Value << r.family;
    y << YAML::Key << "batch_min" << YAML::Value << r.batch_min;
    if (r.batch_max != INT64_MAX) y << YAML::Key << "batch_max" << YAML::Value << r.batch_max;
    y << YAML::Key << "intra_threads" << YAML::Value << r.settings.intra_threads;
    y << YAML::Key << "inter_pools" << YAML::Value << r.settings.inter_pools;
    y << YAML::Key << "affinity" << YAML::Value << std::string(to_string(r.settings.affinity));
    if (!r.evidence.empty()) y << YAML::Key << "evidence" << YAML::Value << r.evidence;
    y << YAML::EndMap;
  }
  y << YAML::EndSeq << YAML::EndMap;
  std::ofstream out(path);
  if (!out) throw InputError(path + ": cannot write");
  out << y.c_str() << "\n";
}

namespace {

[[noreturn]] void fail(const std::string& path, const YAML::Node& n, const std::string& key, const std::string& what) {
  throw InputError(fmt::format("{}:{}: key '{}': {}", path, n.Mark().line + 1, key, what));
}

template <class T>
T field(const std::string& path, const YAML::Node& rule, const std::string& key) {
  if (!rule[key]) fail(path, rule, key, "missing");
  try {
    return rule[key].as<T>();
  } catch (const YAML::Exception&) {
    fail(path, rule[key], key, "wrong type");
  }
}

}  // namespace

SettingsFile load_settings_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw InputError(path + ": cannot open the settings file");
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}:{}: YAML syntax: {}", path, e.mark.line + 1, e.msg));
  }
  SettingsFile f;
  if (root["platform"]) f.platform = root["platform"].as<std::string>();
  if (root["generated_utc"]) f.generated_utc = root["generated_utc"].as<std::string>();
  if (!root["rules"] || !root["rules"].IsSequence()) fail(path, root, "rules", "expected a list of rules");
  for (const auto& n : root["rules"]) {
    SettingsRule r;
    r.family = field<std::string>(path, n, "family");
    r.batch_min = n["batch_min"] ? field<int64_t>(path, n, "batch_min") : 1;
    r.batch_max = n["batch_max"] ? field<int64_t>(path, n, "batch_max") : INT64_MAX;
    r.settings.intra_threads = field<int>(path, n, "intra_threads");
    r.settings.inter_pools = field<int>(path, n, "inter_pools");
    try {
      r.settings.affinity = parse_affinity(field<std::string>(path, n, "affinity"));
    } catch (const InputError& e) {
      fail(path, n["affinity"], "affinity", e.what());
    }
    if (r.settings.intra_threads < 0 || r.settings.inter_pools < 1) fail(path, n, "inter_pools", "must be >= 1 (threads >= 0)");
    if (n["evidence"]) r.evidence = n["evidence"].as<std::string>();
    f.rules.push_back(r);
  }
  return f;
}

std::string shell_exports(const Settings& s, int physical_cores, const std::string& format) {
  const int intra = s.intra_threads > 0 ? s.intra_threads : physical_cores;
  const std::string bind = s.affinity == Affinity::none ? "false" : std::string(to_string(s.affinity));
  if (format == "sh")
    return fmt::format(
        "export OMP_NUM_THREADS={}\nexport OMP_PROC_BIND={}\n{}"
        "# run {} concurrent instance(s) (inter-op pools), each with these threads\n",
        intra, bind, s.affinity == Affinity::none ? "unset OMP_PLACES\n" : "export OMP_PLACES=cores\n", s.inter_pools);
  if (format == "tf")
    return fmt::format(
        "# TensorFlow\nimport tensorflow as tf\ntf.config.threading.set_intra_op_parallelism_threads({})\n"
        "tf.config.threading.set_inter_op_parallelism_threads({})\n# and export OMP_NUM_THREADS={} OMP_PROC_BIND={}\n",
        intra, s.inter_pools, intra, bind);
  if (format == "torch")
    return fmt::format(
        "# PyTorch\nimport torch\ntorch.set_num_threads({})\ntorch.set_num_interop_threads({})\n"
        "# and export OMP_NUM_THREADS={} OMP_PROC_BIND={}\n",
        intra, s.inter_pools, intra, bind);
  throw InputError("unknown format '" + format + "' (expected sh, tf or torch)");
}

}  // namespace paradnn
