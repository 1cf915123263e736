#include "paradnn/config.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "paradnn/error.hpp"

namespace paradnn {

namespace {

// Reads one YAML document and remembers the file name for messages.
class Reader {
 public:
  Reader(std::string source, const Catalog& catalog) : source_(std::move(source)), catalog_(catalog) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& what) const {
    const YAML::Mark m = at.Mark();
    std::ostringstream s;
    s << source_;
    if (m.line >= 0) s << ":" << m.line + 1 << ":" << m.column + 1;
    s << ": " << (key.empty() ? "" : "key '" + key + "': ") << what;
    throw InputError(s.str());
  }

  void only_keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& allowed) const {
    if (!map.IsMap()) fail(map, where, "expected a mapping");
    for (const auto& kv : map) {
      const std::string k = kv.first.as<std::string>();
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, k, "unknown key in " + where + " (expected one of: " + list + ")");
      }
    }
  }

  int64_t integer(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, key, "expected an integer");
    const std::string s = n.Scalar();
    if (s == "true") return 1;
    if (s == "false") return 0;
    const auto v = parse_number(s);
    if (!v || *v != static_cast<double>(static_cast<int64_t>(*v))) fail(n, key, "expected an integer, got '" + s + "'");
    return static_cast<int64_t>(*v);
  }

  double number(const YAML::Node& n, const std::string& key) const {
    const auto v = n.IsScalar() ? parse_number(n.Scalar()) : std::nullopt;
    if (!v) fail(n, key, "expected a number");
    return *v;
  }

  Value value(const YAML::Node& n, const ParamSpec& spec) const {
    if (spec.choices.empty()) {
      const int64_t v = integer(n, spec.name);
      const bool is_flag = spec.name == "bottleneck";
      if (v < (is_flag ? 0 : 1)) fail(n, spec.name, "must be " + std::string(is_flag ? ">= 0" : ">= 1"));
      return v;
    }
    if (!n.IsScalar()) fail(n, spec.name, "expected one of the names");
    for (const auto& c : spec.choices)
      if (c == n.Scalar()) return c;
    std::string list;
    for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
    fail(n, spec.name, "'" + n.Scalar() + "' is not one of: " + list);
  }

  // A list, a single value, or a range {from, to, times|step}.
  std::vector<Value> axis_values(const YAML::Node& n, const ParamSpec& spec) const {
    std::vector<Value> out;
    if (n.IsSequence()) {
      if (n.size() == 0) fail(n, spec.name, "empty list");
      for (const auto& v : n) out.push_back(value(v, spec));
      return out;
    }
    if (n.IsScalar()) return {value(n, spec)};
    only_keys(n, spec.name, {"from", "to", "times", "step"});
    if (!spec.choices.empty()) fail(n, spec.name, "a range needs an integer parameter");
    if (!n["from"] || !n["to"]) fail(n, spec.name, "a range needs 'from' and 'to'");
    const int64_t from = integer(n["from"], spec.name + ".from"), to = integer(n["to"], spec.name + ".to");
    if (from < 1 || to < from) fail(n, spec.name, "impossible range: from " + std::to_string(from) + " to " + std::to_string(to));
    if (n["times"] && n["step"]) fail(n, spec.name, "give either 'times' or 'step', not both");
    if (n["times"]) {
      const int64_t t = integer(n["times"], spec.name + ".times");
      if (t < 2) fail(n["times"], spec.name + ".times", "the multiplier must be >= 2");
      for (int64_t v = from; v <= to; v *= t) out.emplace_back(v);
    } else {
      const int64_t s = n["step"] ? integer(n["step"], spec.name + ".step") : 1;
      if (s < 1) fail(n["step"], spec.name + ".step", "the step must be >= 1");
      for (int64_t v = from; v <= to; v += s) out.emplace_back(v);
    }
    return out;
  }

  const FamilySpec& family(const YAML::Node& n) const {
    if (!n || !n.IsScalar()) fail(n, "family", "each sweep needs a family");
    std::string list;
    for (const FamilySpec& f : catalog_) {
      if (f.name == n.Scalar()) return f;
      list += (list.empty() ? "" : ", ") + f.name;
    }
    fail(n, "family", "unknown family '" + n.Scalar() + "' (expected one of: " + list + ")");
  }

  const ParamSpec& param(const FamilySpec& fam, const YAML::Node& key) const {
    const std::string k = key.as<std::string>();
    if (k == "batch") return batch_spec_;
    if (const ParamSpec* p = fam.find(k)) return *p;
    std::string list = "batch";
    for (const ParamSpec& p : fam.params) list += ", " + p.name;
    fail(key, k, "not a hyperparameter of family " + fam.name + " (expected one of: " + list + ")");
  }

  template <class T, class Parse>
  std::vector<T> names(const YAML::Node& n, const std::string& key, Parse parse) const {
    std::vector<T> out;
    const YAML::Node list = n.IsSequence() ? n : YAML::Node(YAML::NodeType::Sequence);
    if (n.IsScalar()) out.push_back(parse_or_fail<T>(n, key, parse));
    for (const auto& v : list) out.push_back(parse_or_fail<T>(v, key, parse));
    if (out.empty()) fail(n, key, "expected a name or a list of names");
    return out;
  }

  template <class T, class Parse>
  T parse_or_fail(const YAML::Node& n, const std::string& key, Parse parse) const {
    try {
      return parse(n.Scalar());
    } catch (const InputError& e) {
      fail(n, key, e.what());
    }
  }

  Sweep sweep(const YAML::Node& n, const Sweep& defaults) const {
    only_keys(n, "sweep", {"family", "axes", "fixed", "modes", "dtypes", "optimizer", "where"});
    Sweep s = defaults;
    const FamilySpec& fam = family(n["family"]);
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
    if (!n.IsMap()) fail(n, where, "expected a mapping of hyperparameter names to values");
  }

  // Keys a sweep shares with the top level.
  void common(const YAML::Node& n, Sweep& s) const {
    if (n["modes"]) s.modes = names<Mode>(n["modes"], "modes", parse_mode);
    if (n["dtypes"]) s.dtypes = names<DType>(n["dtypes"], "dtypes", parse_dtype);
    if (n["optimizer"]) s.optimizer = parse_or_fail<Optimizer>(n["optimizer"], "optimizer", parse_optimizer);
    if (n["where"]) {
      std::string text;
      if (n["where"].IsSequence())
        for (const auto& c : n["where"]) text += (text.empty() ? "" : ",") + c.Scalar();
      else
        text = n["where"].Scalar();
      try {
        s.where = Filter::parse(text);
      } catch (const InputError& e) {
        fail(n["where"], "where", e.what());
      }
    }
  }

  RunOptions run(const YAML::Node& n) const {
    RunOptions r;
    if (!n) return r;
    only_keys(n, "run", {"warmup_s", "repetitions", "min_time_s", "memory_fraction"});
    if (n["warmup_s"]) r.warmup_s = number(n["warmup_s"], "run.warmup_s");
    if (n["min_time_s"]) r.min_time_s = number(n["min_time_s"], "run.min_time_s");
    if (n["memory_fraction"]) r.memory_fraction = number(n["memory_fraction"], "run.memory_fraction");
    if (n["repetitions"]) r.repetitions = static_cast<int>(integer(n["repetitions"], "run.repetitions"));
    if (r.repetitions < 1) fail(n["repetitions"], "run.repetitions", "must be >= 1");
    if (r.warmup_s < 0 || r.min_time_s < 0) fail(n, "run", "times must be >= 0");
    // Google Benchmark aborts the process on MinTime(0); one iteration is what a tiny value gives.
    if (r.min_time_s == 0) fail(n["min_time_s"], "run.min_time_s", "must be > 0 (use e.g. 0.001 for one iteration per repetition)");
    if (r.memory_fraction <= 0 || r.memory_fraction > 1) fail(n["memory_fraction"], "run.memory_fraction", "must be in (0, 1]");
    return r;
  }

  Config config(const YAML::Node& root) const {
    if (!root.IsMap()) fail(root, "", "a config is a mapping with 'sweeps' (or one sweep's 'family')");
    only_keys(root, "config", {"name", "description", "run", "modes", "dtypes", "optimizer", "where", "sweeps", "family",
                               "axes", "fixed", "tune", "precision", "calibration"});
    Config c;
    c.name = root["name"] ? root["name"].as<std::string>() : "";
    c.run = run(root["run"]);
    if (root["tune"]) c.tune = root["tune"];
    c.quant = parse_quantization(root["precision"], root["calibration"], source_);
    if (root["sweeps"] && root["family"]) fail(root, "family", "give either 'sweeps' or a single sweep's 'family'");
    Sweep defaults;
    if (root["sweeps"]) {
      common(root, defaults);
      if (!root["sweeps"].IsSequence()) fail(root["sweeps"], "sweeps", "expected a list of sweeps");
      for (const auto& s : root["sweeps"]) c.sweeps.push_back(sweep(s, defaults));
    } else if (root["family"]) {
      YAML::Node one(YAML::NodeType::Map);
      for (const auto& kv : root)
        if (kv.first.Scalar() != "name" && kv.first.Scalar() != "description" && kv.first.Scalar() != "run" &&
            kv.first.Scalar() != "tune" && kv.first.Scalar() != "precision" && kv.first.Scalar() != "calibration")
          one[kv.first] = kv.second;
      c.sweeps.push_back(sweep(one, defaults));
    } else if (!root["tune"]) {
      fail(root, "sweeps", "the config names no sweep");
    }
    return c;
  }

 private:
  std::string source_;
  const Catalog& catalog_;
  ParamSpec batch_spec_{"batch", int64_t{1}, {}};
};

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& source, const Catalog& catalog) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw InputError(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                     ": YAML syntax: " + e.msg);
  }
  Config c = Reader(source, catalog).config(root);
  c.path = source;
  c.text = yaml_text;
  return c;
}

Config load_config(const std::string& path, const Catalog& catalog) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the config file");
  std::stringstream s;
  s << in.rdbuf();
  return parse_config(s.str(), path, catalog);
}

}  // namespace paradnn
