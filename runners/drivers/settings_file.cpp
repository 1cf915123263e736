#include "runners/drivers/settings_file.hpp"

#include <fmt/core.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <string_view>

#include "models/catalog.hpp"
#include "paradnn/atomic_file.hpp"
#include "paradnn/bounds.hpp"
#include "paradnn/config.hpp"
#include "paradnn/error.hpp"

namespace paradnn {

std::optional<Settings> SettingsFile::lookup(const std::string& family, int64_t batch, const std::string& mode) const {
  for (const SettingsRule& r : rules)
    if ((r.family == family || r.family == "*") && (r.mode == "*" || mode == "*" || r.mode == mode) &&
        batch >= r.batch_min && batch <= r.batch_max)
      return r.settings;
  return std::nullopt;
}

void save_settings_file(const SettingsFile& f, const std::string& path) {
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "platform" << YAML::Value << f.platform;
  y << YAML::Key << "generated_utc" << YAML::Value << f.generated_utc;
  if (f.tuned_cores > 0) y << YAML::Key << "tuned_cores" << YAML::Value << f.tuned_cores;
  y << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const SettingsRule& r : f.rules) {
    y << YAML::BeginMap;
    y << YAML::Key << "family" << YAML::Value << r.family;
    if (r.mode != "*") y << YAML::Key << "mode" << YAML::Value << r.mode;
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

// A rule's mode, and what a lookup may ask for: * serves either.
bool known_mode(const std::string& mode) { return mode == "train" || mode == "infer" || mode == "*"; }

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
  only_keys(path, n, {"family", "mode", "batch_min", "batch_max", "intra_threads", "inter_pools", "affinity", "evidence"});
  SettingsRule r;
  r.family = field<std::string>(path, n, "family");
  if (n["mode"]) r.mode = field<std::string>(path, n, "mode");
  if (!known_mode(r.mode)) fail(path, n["mode"], "mode", "expected train, infer or *");
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
  only_keys(path, root, {"platform", "generated_utc", "tuned_cores", "rules"});
  try {
    SettingsFile f;
    if (root["platform"]) f.platform = field<std::string>(path, root, "platform");
    if (root["generated_utc"]) f.generated_utc = field<std::string>(path, root, "generated_utc");
    if (root["tuned_cores"]) f.tuned_cores = field<int>(path, root, "tuned_cores");
    if (f.tuned_cores < 0 || f.tuned_cores > bounds::kMaxThreads)
      fail(path, root["tuned_cores"], "tuned_cores", fmt::format("must be in 0..{}", bounds::kMaxThreads));
    if (!root["rules"] || !root["rules"].IsSequence()) fail(path, root, "rules", "expected a list of rules");
    for (const auto& n : root["rules"]) f.rules.push_back(rule_of(path, n));
    return f;
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}: {}", yaml_location(path, root), e.msg));
  }
}

Recommended recommended_settings(const std::string& path, const std::string& family, int64_t batch,
                                 const std::string& mode) {
  std::vector<std::string> families;
  for (const FamilySpec& spec : models::catalog()) families.push_back(spec.name);
  if (std::find(families.begin(), families.end(), family) == families.end())
    throw InputError(fmt::format("--family '{}': not a model family (expected one of {})", family,
                                 fmt::join(families, ", ")));
  const SettingsFile f = load_settings_file(path);
  if (!known_mode(mode))
    throw InputError(fmt::format("--mode '{}': expected train or infer", mode));
  const auto s = f.lookup(family, batch, mode);
  if (!s) throw InputError(fmt::format("{}: no rule for family {} at batch {} ({})", path, family, batch, mode));
  return {*s, f.platform, f.tuned_cores};
}

std::optional<std::string> Recommended::topology_note(int cores_here) const {
  if (tuned_cores <= 0 || tuned_cores == cores_here) return std::nullopt;
  return fmt::format(
      "the rules were tuned where {} core(s) were allowed and {} are here: their thread and instance counts are the "
      "ones measured there and do not scale with the cores; run `paradnn tune` here for this machine's rules",
      tuned_cores, cores_here);
}

namespace {

// A shell word: bare where that is safe, else single-quoted ({0},{1} and [0,1] are not).
std::string sh_word(const std::string& v) {
  const bool bare = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("_.,:/=-").find(c) != std::string_view::npos;
  });
  return bare ? v : "'" + v + "'";
}

std::string summary(const InstancePlans& p) {
  std::string out = fmt::format("# {} instance(s) x {} thread(s), affinity {}\n", p.instances.size(),
                                p.instances.front().threads, to_string(p.settings.affinity));
  for (const std::string& n : p.notes) out += "# note: " + n + "\n";
  return out;
}

std::string sh_text(const InstancePlans& p, const std::string& launch_hint) {
  std::string out = summary(p);
  const size_t k = p.instances.size();
  if (k == 1) {
    out += "# One instance: eval this output to apply it in this shell; paradnn_instance_0 CMD ARGS also pins CMD.\n";
    for (const auto& [name, value] : p.instances[0].env)
      if (name.rfind("PARADNN_", 0) != 0) out += fmt::format("export {}={}\n", name, sh_word(value));
    if (p.settings.affinity == Affinity::none) out += "unset OMP_PLACES\n";
  } else {
    out += fmt::format(
        "# Pools are {} separate processes, each on its own cpus: eval this output, then start every instance\n"
        "# with its own function, e.g. paradnn_instance_0 CMD ARGS & ... paradnn_instance_{} CMD ARGS & wait\n"
        "# (or: {} -- CMD ARGS)\n",
        k, k - 1, launch_hint);
  }
  for (const InstancePlan& i : p.instances) {
    std::vector<std::string> assignments;
    for (const auto& [name, value] : i.env) assignments.push_back(name + "=" + sh_word(value));
    out += fmt::format("# instance {}: cpus {}{}\n", i.index, cpu_list(i.cpus), i.places.empty() ? "" : ", places " + i.places);
    out += fmt::format("paradnn_instance_{}() {{ env {} taskset -c {} \"$@\"; }}\n", i.index, fmt::join(assignments, " "),
                       cpu_list(i.cpus));
  }
  return out;
}

// Python that picks this copy's instance by PARADNN_INSTANCE, pins it and sets its OpenMP
// variables before the framework loads its runtime (which reads them once).
std::string python_placement(const InstancePlans& p, const std::string& framework, const std::string& launch_hint) {
  std::string out = summary(p);
  const std::string module = framework == "TensorFlow" ? "tensorflow" : "torch";
  if (p.instances.size() == 1)
    out += fmt::format("# One instance: run this at the top of your script, before importing {}.\n", module);
  else
    out += fmt::format(
        "# Pools are separate processes, not {}'s inter-op threads: start {} copies of your script with\n"
        "#   {} -- python3 SCRIPT.py\n"
        "# Each copy picks its placement below by PARADNN_INSTANCE; run this before importing {}.\n",
        framework, p.instances.size(), launch_hint, module);
  out += "import os\nINSTANCES = [\n";
  for (const InstancePlan& i : p.instances) {
    std::vector<std::string> env;
    for (const auto& [name, value] : i.env) env.push_back(fmt::format("\"{}\": \"{}\"", name, value));
    out += fmt::format("    {{\"cpus\": [{}], \"env\": {{{}}}}},\n", fmt::join(i.cpus, ", "), fmt::join(env, ", "));
  }
  out +=
      "]\nmine = INSTANCES[int(os.environ.get(\"PARADNN_INSTANCE\", \"0\"))]\n"
      "os.sched_setaffinity(0, mine[\"cpus\"])\nos.environ.update(mine[\"env\"])\n";
  return out;
}

}  // namespace

std::string shell_exports(const InstancePlans& plan, const std::string& format, const std::string& launch_hint) {
  const int threads = plan.instances.front().threads;
  // Each instance steps its graph one op after another, so the framework's own inter-op
  // threads are 1: the pools are the processes.
  if (format == "sh") return sh_text(plan, launch_hint);
  if (format == "tf")
    return python_placement(plan, "TensorFlow", launch_hint) +
           fmt::format(
               "import tensorflow as tf\ntf.config.threading.set_intra_op_parallelism_threads({})\n"
               "tf.config.threading.set_inter_op_parallelism_threads(1)  # one op at a time per instance\n",
               threads);
  if (format == "torch")
    return python_placement(plan, "PyTorch", launch_hint) +
           fmt::format(
               "import torch\ntorch.set_num_threads({})\n"
               "torch.set_num_interop_threads(1)  # not the pool count: pools are the processes above\n",
               threads);
  throw InputError("unknown format '" + format + "' (expected sh, tf or torch)");
}

}  // namespace paradnn
