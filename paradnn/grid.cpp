#include "paradnn/grid.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

#include "paradnn/bounds.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"

namespace paradnn {

Graph build_graph(const Point& p, const Catalog& catalog) {
  for (const FamilySpec& f : catalog)
    if (f.name == p.family) return f.build(p);
  throw InputError("no generator for family '" + p.family + "'");
}

std::optional<std::string> point_field(const Point& p, const GridEntry* e, const std::string& name) {
  if (name == "family" || name == "model_family") return p.family;
  if (name == "mode") return std::string(to_string(p.mode));
  if (name == "dtype") return std::string(to_string(p.dtype));
  if (name == "batch") return std::to_string(p.batch);
  if (name == "optimizer") return std::string(to_string(p.optimizer));
  if (auto it = p.hp.find(name); it != p.hp.end()) return to_string(it->second);
  if (e) {
    if (name == "model_name" && !e->model_name.empty()) return e->model_name;
    if (name == "params") return std::to_string(e->params);
    if (name == "memory" || name == "memory_estimated_bytes") return std::to_string(e->memory_bytes);
    if (name == "flops" || name == "flops_per_step") return std::to_string(e->flops_per_step);
  }
  return std::nullopt;
}

std::vector<std::string> filter_names(const Catalog& catalog) {
  std::set<std::string> names{"family", "model_family", "model_name", "mode",   "dtype",
                              "batch",  "optimizer",    "params",     "memory", "memory_estimated_bytes",
                              "flops",  "flops_per_step"};
  for (const std::string& h : hyperparameter_columns()) names.insert(h);
  for (const FamilySpec& f : catalog)
    for (const ParamSpec& spec : f.params) names.insert(spec.name);
  return {names.begin(), names.end()};
}

void check_filter_names(const Filter& f, const Catalog& catalog, const std::string& where) {
  const std::vector<std::string> names = filter_names(catalog);
  for (const Condition& c : f.conditions())
    if (!std::binary_search(names.begin(), names.end(), c.name))
      throw InputError(fmt::format("{}: unknown filter name '{}'; valid names: {}", where, c.name, fmt::join(names, ", ")));
}

namespace {

const FamilySpec& family_of(const Catalog& catalog, const std::string& name) {
  for (const FamilySpec& f : catalog)
    if (f.name == name) return f;
  throw InputError("no generator for family '" + name + "'");
}

bool is_axis(const Sweep& s, const std::string& name) {
  for (const Axis& a : s.axes)
    if (a.name == name) return true;
  return false;
}

// Where a sweep's problems are reported: its place in the config, when it came from one.
std::string origin(const Sweep& s) { return s.origin.empty() ? "sweep of family " + s.family : s.origin; }

// Counts a built model's figures, refusing models too large to count or run.
void measure(GridEntry& e, const Graph& g, const Sweep& s) {
  e.params = g.param_count();
  e.model_name = g.name;
  e.memory_bytes = g.memory(e.point.mode).total();
  e.flops_per_step = g.totals(e.point.mode).flops;
  if (!(static_cast<double>(e.params) <= bounds::kMaxParams) || !std::isfinite(e.memory_bytes) ||
      !std::isfinite(e.flops_per_step))
    throw InputError(fmt::format("{}: model {} has {} parameters; at most {:g} are allowed (README \"Input bounds\")",
                                 origin(s), e.point.key(), e.params, bounds::kMaxParams));
}

// A grid is expanded once per config and point, in order, with every point's key unique.
struct Expansion {
  const Catalog& catalog;
  const PrecisionPolicy& policy;
  std::vector<GridEntry>& out;
  std::unordered_set<std::string> keys;
};

void expand_sweep(const Sweep& s, Expansion& x) {
  const Catalog& catalog = x.catalog;
  const FamilySpec& fam = family_of(catalog, s.family);
  check_filter_names(s.where, catalog, origin(s) + ": where");
  std::vector<size_t> index(s.axes.size(), 0);
  while (true) {
    Point base;
    base.family = s.family;
    base.optimizer = s.optimizer;
    for (const ParamSpec& spec : fam.params) base.hp[spec.name] = spec.default_value;
    for (const auto& [k, v] : s.fixed) base.hp[k] = v;
    for (size_t a = 0; a < s.axes.size(); ++a) {
      const Value& v = s.axes[a].values[index[a]];
      if (s.axes[a].name == "batch") base.batch = std::get<int64_t>(v);
      else base.hp[s.axes[a].name] = v;
    }
    for (const ParamSpec& spec : fam.params)
      if (spec.default_from && !s.fixed.count(spec.name) && !is_axis(s, spec.name)) {
        if (const std::optional<Value> v = spec.default_from(base)) base.hp[spec.name] = *v;
        else base.hp.erase(spec.name);
      }
    for (Mode m : s.modes)
      for (DType d : s.dtypes) {
        GridEntry e;
        e.point = base;
        e.point.mode = m;
        e.point.dtype = d;
        try {
          const Graph g = fam.build(e.point);
          measure(e, g, s);
          // An int8 point's layer selectors must name layers of this model: checked now,
          // before any output exists, rather than when the point runs.
          if (d == DType::int8) int8_layers(g, x.policy);
        } catch (const std::invalid_argument& err) {
          throw InputError(origin(s) + ": sweep makes an impossible model " + e.point.key() + ": " + err.what());
        }
        if (!s.where.matches([&](const std::string& n) { return point_field(e.point, &e, n); })) continue;
        if (!x.keys.insert(e.point.key()).second)
          throw InputError(origin(s) + ": point " + e.point.key() + " is also made by an earlier sweep (it would run twice)");
        x.out.push_back(e);
      }
    // Odometer over the axes, last axis fastest.
    size_t a = s.axes.size();
    while (a > 0) {
      --a;
      if (++index[a] < s.axes[a].values.size()) break;
      index[a] = 0;
      if (a == 0) return;
    }
    if (s.axes.empty()) return;
  }
}

}  // namespace

std::vector<GridEntry> expand(const Config& config, const Catalog& catalog) {
  // Configs from files were counted when read; this also bounds sweeps built in code.
  double count = 0;
  for (const Sweep& s : config.sweeps) {
    double n = static_cast<double>(s.modes.size() * s.dtypes.size());
    for (const Axis& a : s.axes) n *= static_cast<double>(a.values.size());
    count += n;
  }
  if (count > static_cast<double>(bounds::kMaxGridPoints))
    throw InputError(fmt::format("{}: the grid has {:.0f} points; at most {} are allowed (README \"Input bounds\")",
                                 config.path, count, bounds::kMaxGridPoints));
  std::vector<GridEntry> out;
  Expansion x{catalog, config.quant.policy, out, {}};
  for (const Sweep& s : config.sweeps) expand_sweep(s, x);
  return out;
}

}  // namespace paradnn
