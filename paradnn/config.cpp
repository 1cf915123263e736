#include "paradnn/config.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "paradnn/bounds.hpp"
#include "paradnn/error.hpp"

namespace paradnn {

namespace {

std::string node_kind(const YAML::Node& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  const std::string& s = n.Scalar();  // long user text: its start is enough to find it
  return "'" + (s.size() <= 60 ? s : s.substr(0, 57) + "...") + "'";
}

// Whole-document checks before reading: no duplicate keys in any mapping (YAML forbids
// them; yaml-cpp would keep one silently), only scalar keys, and a bounded number of nodes
// visited (aliases let a small file name the same subtree many times). Iterative, so deep
// nesting cannot overflow the stack.
void check_tree(const YAML::Node& root, const std::string& source) {
  std::vector<YAML::Node> stack{root};
  int64_t visited = 0;
  while (!stack.empty()) {
    const YAML::Node n = stack.back();
    stack.pop_back();
    if (++visited > bounds::kMaxYamlNodes)
      throw InputError(yaml_location(source, n) + ": the YAML has more than " + std::to_string(bounds::kMaxYamlNodes) +
                       " nodes (counting each alias use)");
    if (n.IsSequence()) {
      for (const auto& v : n) stack.push_back(v);
    } else if (n.IsMap()) {
      std::unordered_map<std::string, YAML::Node> keys;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar())
          throw InputError(yaml_location(source, kv.first) + ": expected a key name, got " + node_kind(kv.first));
        const auto [it, fresh] = keys.emplace(kv.first.Scalar(), kv.first);
        if (!fresh)
          throw InputError(yaml_location(source, kv.first) + ": key '" + kv.first.Scalar() + "': given twice (first at " +
                           yaml_location(source, it->second) + ")");
        stack.push_back(kv.second);
      }
    }
  }
}

// Reads one YAML document and remembers the file name for messages.
class Reader {
 public:
  Reader(std::string source, const Catalog& catalog) : source_(std::move(source)), catalog_(catalog) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& what) const {
    throw InputError(yaml_location(source_, at) + ": " + (key.empty() ? "" : "key '" + key + "': ") + what);
  }

  std::string text(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected a name, got " + node_kind(n));
    return n.Scalar();
  }

  void only_keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& allowed) const {
    if (!map.IsMap()) fail(map, where, "expected a mapping, got " + node_kind(map));
    for (const auto& kv : map) {
      const std::string k = text(kv.first, where);
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, k, "unknown key in " + where + " (expected one of: " + list + ")");
      }
    }
  }

  int64_t integer(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected an integer, got " + node_kind(n));
    const std::string s = n.Scalar();
    if (s == "true") return 1;
    if (s == "false") return 0;
    const auto v = parse_number(s);
    // The range check comes before the cast, which would be undefined out of int64's range.
    if (!v || std::isnan(*v) || (std::isfinite(*v) && *v != std::trunc(*v)))
      fail(n, key, "expected an integer, got '" + shorten(s) + "'");
    if (!(std::fabs(*v) <= static_cast<double>(bounds::kMaxHyperparameter)))
      fail(n, key, "'" + shorten(s) + "' is over the limit " + std::to_string(bounds::kMaxHyperparameter) +
                       " (README \"Input bounds\")");
    return static_cast<int64_t>(*v);
  }

  double number(const YAML::Node& n, const std::string& key) const {
    const auto v = n.IsScalar() ? parse_number(n.Scalar()) : std::nullopt;
    if (!v || !std::isfinite(*v)) fail(n, key, "expected a finite number, got " + node_kind(n));
    return *v;
  }

  Value value(const YAML::Node& n, const ParamSpec& spec) const {
    if (spec.choices.empty()) {
      const int64_t v = integer(n, spec.name);
      const bool is_flag = spec.name == "bottleneck";
      if (v < (is_flag ? 0 : 1)) fail(n, spec.name, "must be " + std::string(is_flag ? ">= 0" : ">= 1"));
      check_max(n, spec.name, v);
      return v;
    }
    const std::string s = text(n, spec.name);
    for (const auto& c : spec.choices)
      if (c == s) return c;
    std::string list;
    for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
    fail(n, spec.name, "'" + shorten(s) + "' is not one of: " + list);
  }

  void check_max(const YAML::Node& n, const std::string& key, int64_t v) const {
    const int64_t max = bounds::max_hyperparameter(key);
    if (v > max) fail(n, key, std::to_string(v) + " is over the limit " + std::to_string(max) + " (README \"Input bounds\")");
  }

  // A list, a single value, or a range {from, to, times|step}; a repeated value is an error.
  std::vector<Value> axis_values(const YAML::Node& n, const ParamSpec& spec) const {
    std::vector<Value> out;
    if (n.IsSequence()) {
      if (n.size() == 0) fail(n, spec.name, "empty list");
      if (static_cast<int64_t>(n.size()) > bounds::kMaxGridPoints) fail(n, spec.name, too_many(n.size()));
      std::set<Value> seen;
      for (const auto& v : n) {
        out.push_back(value(v, spec));
        if (!seen.insert(out.back()).second)
          fail(v, spec.name, "value " + to_string(out.back()) + " is repeated in this axis (it would run twice)");
      }
      return out;
    }
    if (n.IsScalar()) return {value(n, spec)};
    only_keys(n, spec.name, {"from", "to", "times", "step"});
    if (!spec.choices.empty()) fail(n, spec.name, "a range needs an integer parameter");
    if (!n["from"] || !n["to"]) fail(n, spec.name, "a range needs 'from' and 'to'");
    const int64_t from = integer(n["from"], spec.name + ".from"), to = integer(n["to"], spec.name + ".to");
    if (from < 1 || to < from) fail(n, spec.name, "impossible range: from " + std::to_string(from) + " to " + std::to_string(to));
    check_max(n["to"], spec.name, to);
    if (n["times"] && n["step"]) fail(n, spec.name, "give either 'times' or 'step', not both");
    if (n["times"]) {
      const int64_t t = integer(n["times"], spec.name + ".times");
      if (t < 2) fail(n["times"], spec.name + ".times", "the multiplier must be >= 2");
      // Stop before v * t could pass `to`, so the product never overflows.
      for (int64_t v = from;; v *= t) {
        out.emplace_back(v);
        if (v > to / t) break;
      }
    } else {
      const int64_t s = n["step"] ? integer(n["step"], spec.name + ".step") : 1;
      if (s < 1) fail(n["step"], spec.name + ".step", "the step must be >= 1");
      const int64_t count = (to - from) / s + 1;
      if (count > bounds::kMaxGridPoints) fail(n, spec.name, too_many(static_cast<double>(count)));
      for (int64_t k = 0; k < count; ++k) out.emplace_back(from + k * s);
    }
    return out;
  }

  static std::string too_many(double count) {
    return fmt::format("{:.0f} values; a config may have at most {} grid points (README \"Input bounds\")", count,
                       bounds::kMaxGridPoints);
  }

  static std::string shorten(const std::string& s) { return s.size() <= 60 ? s : s.substr(0, 57) + "..."; }

  const FamilySpec& family(const YAML::Node& sweep) const {
    const YAML::Node n = sweep["family"];
    if (!n) fail(sweep, "family", "each sweep needs a family");
    const std::string name = text(n, "family");
    std::string list;
    for (const FamilySpec& f : catalog_) {
      if (f.name == name) return f;
      list += (list.empty() ? "" : ", ") + f.name;
    }
    fail(n, "family", "unknown family '" + shorten(name) + "' (expected one of: " + list + ")");
  }

  const ParamSpec& param(const FamilySpec& fam, const YAML::Node& key) const {
    const std::string k = text(key, "hyperparameter");
    if (k == "batch") return batch_spec_;
    if (const ParamSpec* p = fam.find(k)) return *p;
    std::string list = "batch";
    for (const ParamSpec& p : fam.params) list += ", " + p.name;
    fail(key, k, "not a hyperparameter of family " + fam.name + " (expected one of: " + list + ")");
  }

  template <class T, class Parse>
  std::vector<T> names(const YAML::Node& n, const std::string& key, Parse parse) const {
    std::vector<T> out;
    if (n.IsScalar()) out.push_back(parse_or_fail<T>(n, key, parse));
    if (n.IsSequence())
      for (const auto& v : n) {
        out.push_back(parse_or_fail<T>(v, key, parse));
        for (size_t i = 0; i + 1 < out.size(); ++i)
          if (out[i] == out.back()) fail(v, key, "'" + v.Scalar() + "' is repeated (it would run twice)");
      }
    if (out.empty()) fail(n, key, "expected a name or a list of names");
    return out;
  }

  template <class T, class Parse>
  T parse_or_fail(const YAML::Node& n, const std::string& key, Parse parse) const {
    const std::string s = text(n, key);
    try {
      return parse(s);
    } catch (const InputError& e) {
      fail(n, key, e.what());
    }
  }

  // `top_level`: the single-sweep form, whose keys the config's own check allowed.
  Sweep sweep(const YAML::Node& n, const Sweep& defaults, bool top_level) const {
    if (!top_level) only_keys(n, "sweep", {"family", "axes", "fixed", "modes", "dtypes", "optimizer", "where"});
    Sweep s = defaults;
    s.origin = yaml_location(source_, n);
    const FamilySpec& fam = family(n);
    s.family = fam.name;
    std::set<std::string> seen;
    if (n["axes"]) {
      only_keys_any(n["axes"], "axes");
      for (const auto& kv : n["axes"]) {
        const ParamSpec& spec = param(fam, kv.first);
        seen.insert(spec.name);
        s.axes.push_back({spec.name, axis_values(kv.second, spec)});
      }
    }
    if (n["fixed"]) {
      only_keys_any(n["fixed"], "fixed");
      for (const auto& kv : n["fixed"]) {
        const ParamSpec& spec = param(fam, kv.first);
        if (!seen.insert(spec.name).second) fail(kv.first, spec.name, "given both as an axis and as fixed");
        if (spec.name == "batch") s.axes.push_back({"batch", {value(kv.second, spec)}});
        else s.fixed[spec.name] = value(kv.second, spec);
      }
    }
    if (!seen.count("batch")) fail(n, "batch", "each sweep needs a batch (an axis or a fixed value)");
    common(n, s);
    return s;
  }

  void only_keys_any(const YAML::Node& n, const std::string& where) const {
    if (!n.IsMap()) fail(n, where, "expected a mapping of hyperparameter names to values, got " + node_kind(n));
  }

  // Keys a sweep shares with the top level.
  void common(const YAML::Node& n, Sweep& s) const {
    if (n["modes"]) s.modes = names<Mode>(n["modes"], "modes", parse_mode);
    if (n["dtypes"]) s.dtypes = names<DType>(n["dtypes"], "dtypes", parse_dtype);
    if (n["optimizer"]) s.optimizer = parse_or_fail<Optimizer>(n["optimizer"], "optimizer", parse_optimizer);
    if (const YAML::Node w = n["where"]) {
      std::string joined;
      if (w.IsSequence())
        for (const auto& c : w) joined += (joined.empty() ? "" : ",") + text(c, "where");
      else
        joined = text(w, "where");
      try {
        s.where = Filter::parse(joined);
      } catch (const InputError& e) {
        fail(w, "where", e.what());
      }
    }
  }

  RunOptions run(const YAML::Node& n) const {
    RunOptions r;
    if (!n) return r;
    only_keys(n, "run", {"warmup_s", "repetitions", "min_time_s", "memory_fraction", "max_noise", "max_time_s"});
    const auto seconds = [&](const char* key, double& out) {
      if (!n[key]) return;
      out = number(n[key], std::string("run.") + key);
      if (out < 0 || out > bounds::kMaxSeconds)
        fail(n[key], std::string("run.") + key, fmt::format("must be in [0, {:g}] seconds", bounds::kMaxSeconds));
    };
    seconds("warmup_s", r.warmup_s);
    seconds("min_time_s", r.min_time_s);
    if (n["memory_fraction"]) r.memory_fraction = number(n["memory_fraction"], "run.memory_fraction");
    if (n["repetitions"]) {
      const double reps = number(n["repetitions"], "run.repetitions");
      if (reps != std::trunc(reps) || reps < 1 || reps > static_cast<double>(bounds::kMaxRepetitions))
        fail(n["repetitions"], "run.repetitions", "must be an integer in 1.." + std::to_string(bounds::kMaxRepetitions));
      r.repetitions = static_cast<int>(reps);
    }
    // Google Benchmark aborts the process on MinTime(0); one iteration is what a tiny value gives.
    if (r.min_time_s == 0) fail(n["min_time_s"], "run.min_time_s", "must be > 0 (use e.g. 0.001 for one iteration per repetition)");
    if (r.memory_fraction <= 0 || r.memory_fraction > 1) fail(n["memory_fraction"], "run.memory_fraction", "must be in (0, 1]");
    // Adaptive stopping: a bounded target and a bounded time, so a point always ends.
    if (n["max_noise"]) {
      r.max_noise = number(n["max_noise"], "run.max_noise");
      if (!(r.max_noise > 0 && r.max_noise < 1)) fail(n["max_noise"], "run.max_noise", "must be in (0, 1), e.g. 0.02");
    }
    if (n["max_time_s"]) {
      r.max_time_s = number(n["max_time_s"], "run.max_time_s");
      if (!(r.max_time_s > 0 && r.max_time_s <= 86400)) fail(n["max_time_s"], "run.max_time_s", "must be in (0, 86400] seconds");
    }
    return r;
  }

  // The `tune:` section's shape and ranges, checked here so that a mistake stops before
  // any output exists; runners/drivers/tuner.cpp reads the values.
  void tune_section(const YAML::Node& n) const {
    only_keys(n, "tune", {"intra_threads", "inter_pools", "affinity", "holdout_every", "prune_below"});
    for (const std::string key : {"intra_threads", "inter_pools", "affinity"}) {
      const YAML::Node list = n[key];
      if (!list) continue;
      if (!list.IsSequence() || list.size() == 0) fail(list, "tune." + key, "expected a list, got " + node_kind(list));
      for (const auto& v : list) {
        if (key == "affinity") {
          const std::string a = text(v, "tune.affinity");
          if (a != "none" && a != "close" && a != "spread") fail(v, "tune.affinity", "expected none, close or spread");
          continue;
        }
        const int64_t x = integer(v, "tune." + key);
        if (x < 1 || x > bounds::kMaxThreads) fail(v, "tune." + key, fmt::format("must be in 1..{}", bounds::kMaxThreads));
      }
    }
    if (const YAML::Node h = n["holdout_every"])
      if (const int64_t x = integer(h, "tune.holdout_every"); x < 0 || x > bounds::kMaxGridPoints)
        fail(h, "tune.holdout_every", fmt::format("must be in 0..{} (0: hold none out)", bounds::kMaxGridPoints));
    if (const YAML::Node p = n["prune_below"])
      if (const double x = number(p, "tune.prune_below"); x < 0 || x > 1) fail(p, "tune.prune_below", "must be in [0, 1]");
  }

  // calibration.batches and eval_batches run that many batches through the model.
  void calibration_bounds(const YAML::Node& n, const CalibrationOptions& c) const {
    if (!n) return;
    for (const auto& [key, v] : {std::pair{"batches", c.batches}, std::pair{"eval_batches", c.eval_batches}})
      if (v > bounds::kMaxCalibrationBatches)
        fail(n[key], std::string("calibration.") + key, fmt::format("must be <= {}", bounds::kMaxCalibrationBatches));
  }

  // Points a sweep expands to before filtering, in double so that no product overflows.
  static double point_count(const Sweep& s) {
    double count = static_cast<double>(s.modes.size() * s.dtypes.size());
    for (const Axis& a : s.axes) count *= static_cast<double>(a.values.size());
    return count;
  }

  Config config(const YAML::Node& root) const {
    if (!root.IsMap()) fail(root, "", "a config is a mapping with 'sweeps' (or one sweep's 'family'), got " + node_kind(root));
    only_keys(root, "config", {"name", "description", "run", "modes", "dtypes", "optimizer", "where", "sweeps", "family",
                               "axes", "fixed", "tune", "precision", "calibration"});
    Config c;
    c.name = root["name"] ? text(root["name"], "name") : "";
    c.run = run(root["run"]);
    if (root["tune"]) {
      tune_section(root["tune"]);
      c.tune = root["tune"];
    }
    c.quant = parse_quantization(root["precision"], root["calibration"], source_);
    calibration_bounds(root["calibration"], c.quant.calibration);
    if (root["sweeps"] && root["family"]) fail(root, "family", "give either 'sweeps' or a single sweep's 'family'");
    Sweep defaults;
    std::vector<YAML::Node> nodes;
    if (root["sweeps"]) {
      common(root, defaults);
      if (!root["sweeps"].IsSequence()) fail(root["sweeps"], "sweeps", "expected a list of sweeps, got " + node_kind(root["sweeps"]));
      for (const auto& s : root["sweeps"]) {
        c.sweeps.push_back(sweep(s, defaults, false));
        nodes.push_back(s);
      }
    } else if (root["family"]) {
      c.sweeps.push_back(sweep(root, defaults, true));
      nodes.push_back(root);
    } else if (!root["tune"]) {
      fail(root, "sweeps", "the config names no sweep");
    }
    double total = 0;
    for (size_t i = 0; i < c.sweeps.size(); ++i) {
      total += point_count(c.sweeps[i]);
      if (total > static_cast<double>(bounds::kMaxGridPoints))
        fail(nodes[i], "", fmt::format("the grid reaches {:.0f} points with this sweep; a config may have at most {} "
                                       "(README \"Input bounds\")", total, bounds::kMaxGridPoints));
    }
    return c;
  }

 private:
  std::string source_;
  const Catalog& catalog_;
  ParamSpec batch_spec_{"batch", int64_t{1}, {}};
};

}  // namespace

namespace {
std::string at_mark(const std::string& source, const YAML::Mark& m) {
  return m.line < 0 ? source : fmt::format("{}:{}:{}", source, m.line + 1, m.column + 1);
}
}  // namespace

std::string yaml_location(const std::string& source, const YAML::Node& at) {
  // A missing node (operator[] on an absent key) has no position.
  return at_mark(source, at.IsDefined() ? at.Mark() : YAML::Mark::null_mark());
}

std::string read_input_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": is a directory, not a " + what);
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && static_cast<int64_t>(size) > bounds::kMaxConfigBytes)
    throw InputError(path + ": the " + what + " is " + std::to_string(size) + " bytes; at most " +
                     std::to_string(bounds::kMaxConfigBytes) + " are read (README \"Input bounds\")");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the " + what);
  std::stringstream s;
  s << in.rdbuf();
  if (in.bad()) throw InputError(path + ": cannot read the " + what);
  return s.str();
}

YAML::Node load_yaml(const std::string& text, const std::string& source, const std::string& what) {
  if (static_cast<int64_t>(text.size()) > bounds::kMaxConfigBytes)
    throw InputError(source + ": the " + what + " is " + std::to_string(text.size()) + " bytes; at most " +
                     std::to_string(bounds::kMaxConfigBytes) + " are read (README \"Input bounds\")");
  // Editors on Windows write a UTF-8 byte order mark; it is not part of the YAML.
  const bool bom = text.rfind("\xEF\xBB\xBF", 0) == 0;
  YAML::Node root;
  try {
    root = YAML::Load(bom ? text.substr(3) : text);
  } catch (const YAML::Exception& e) {
    throw InputError(at_mark(source, e.mark) + ": YAML syntax: " + e.msg);
  }
  // Whitespace and comments only: yaml-cpp gives a null document.
  if (!root.IsDefined() || root.IsNull()) throw InputError(source + ": empty " + what + " (no YAML content)");
  check_tree(root, source);
  return root;
}

Config parse_config(const std::string& yaml_text, const std::string& source, const Catalog& catalog) {
  const YAML::Node root = load_yaml(yaml_text, source, "config");
  try {
    Config c = Reader(source, catalog).config(root);
    c.path = source;
    c.text = yaml_text;
    return c;
  } catch (const YAML::Exception& e) {
    // A yaml-cpp conversion a check above did not foresee: still bad input, with its place.
    throw InputError(at_mark(source, e.mark) + ": YAML: " + e.msg);
  }
}

Config load_config(const std::string& path, const Catalog& catalog) {
  return parse_config(read_input_file(path, "config"), path, catalog);
}

}  // namespace paradnn
