#include "runners/drivers/settings_file.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>

#include "paradnn/atomic_file.hpp"
#include "paradnn/bounds.hpp"
#include "paradnn/config.hpp"
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
  write_file_atomically(path, std::string(y.c_str()) + "\n");
}

namespace {

[[noreturn]] void fail(const std::string& path, const YAML::Node& n, const std::string& key, const std::string& what) {
  throw InputError(fmt::format("{}: key '{}': {}", yaml_location(path, n), key, what));
}

template <class T>
T field(const std::string& path, const YAML::Node& rule, const std::string& key) {
  if (!rule[key]) fail(path, rule, key, "missing");
  if (!rule[key].IsScalar()) fail(path, rule[key], key, "expected a single value");
  try {
    return rule[key].as<T>();
  } catch (const YAML::Exception&) {
    fail(path, rule[key], key, "wrong type");
  }
}

// Keys of `map` outside `known` stop the load: a misspelt key would silently apply another rule.
void only_keys(const std::string& path, const YAML::Node& map, const std::vector<std::string>& known) {
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end())
      fail(path, kv.first, key, fmt::format("unknown key (expected one of {})", fmt::join(known, ", ")));
  }
}

SettingsRule rule_of(const std::string& path, const YAML::Node& n) {
  if (!n.IsMap()) fail(path, n, "rules", "each rule is a mapping (family, batch_min, intra_threads, ...)");
  only_keys(path, n, {"family", "batch_min", "batch_max", "intra_threads", "inter_pools", "affinity", "evidence"});
  SettingsRule r;
  r.family = field<std::string>(path, n, "family");
  r.batch_min = n["batch_min"] ? field<int64_t>(path, n, "batch_min") : 1;
  r.batch_max = n["batch_max"] ? field<int64_t>(path, n, "batch_max") : INT64_MAX;
  if (r.batch_min < 1 || r.batch_max < r.batch_min) fail(path, n, "batch_min", "expected 1 <= batch_min <= batch_max");
  r.settings.intra_threads = field<int>(path, n, "intra_threads");
  r.settings.inter_pools = field<int>(path, n, "inter_pools");
  try {
    r.settings.affinity = parse_affinity(field<std::string>(path, n, "affinity"));
  } catch (const InputError& e) {
    fail(path, n["affinity"], "affinity", e.what());
  }
  if (r.settings.intra_threads < 0 || r.settings.intra_threads > bounds::kMaxThreads)
    fail(path, n["intra_threads"], "intra_threads", fmt::format("must be in 0..{} (0 = all cores)", bounds::kMaxThreads));
  if (r.settings.inter_pools < 1 || r.settings.inter_pools > bounds::kMaxThreads)
    fail(path, n["inter_pools"], "inter_pools", fmt::format("must be in 1..{}", bounds::kMaxThreads));
  if (n["evidence"]) r.evidence = field<std::string>(path, n, "evidence");
  return r;
}

}  // namespace

SettingsFile load_settings_file(const std::string& path) {
  const YAML::Node root = load_yaml(read_input_file(path, "settings file"), path, "settings file");
  if (!root.IsMap()) fail(path, root, "rules", "a settings file is a mapping with 'rules'");
  only_keys(path, root, {"platform", "generated_utc", "rules"});
  try {
    SettingsFile f;
    if (root["platform"]) f.platform = field<std::string>(path, root, "platform");
    if (root["generated_utc"]) f.generated_utc = field<std::string>(path, root, "generated_utc");
    if (!root["rules"] || !root["rules"].IsSequence()) fail(path, root, "rules", "expected a list of rules");
    for (const auto& n : root["rules"]) f.rules.push_back(rule_of(path, n));
    return f;
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}: {}", yaml_location(path, root), e.msg));
  }
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
