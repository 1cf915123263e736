#include "paradnn/grid.hpp"

#include "paradnn/error.hpp"

namespace paradnn {

Graph build_graph(const Point& p, const Catalog& catalog) {
  for (const FamilySpec& f : catalog)
    if (f.name == p.family) return f.build(p);
  throw InputError("no generator for family '" + p.family + "'");
}

std::optional<std::string> point_field(const Point& p, const GridEntry* e, const std::string& name) {
  if (name == "family") return p.family;
  if (name == "mode") return std::string(to_string(p.mode));
  if (name == "dtype") return std::string(to_string(p.dtype));
  if (name == "batch") return std::to_string(p.batch);
  if (name == "optimizer") return std::string(to_string(p.optimizer));
  if (auto it = p.hp.find(name); it != p.hp.end()) return to_string(it->second);
  if (e) {
    if (name == "params") return std::to_string(e->params);
    if (name == "memory") return std::to_string(e->memory_bytes);
    if (name == "flops") return std::to_string(e->flops_per_step);
  }
  return std::nullopt;
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

void expand_sweep(const Sweep& s, const Catalog& catalog, std::vector<GridEntry>& out) {
  const FamilySpec& fam = family_of(catalog, s.family);
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
          e.params = g.param_count();
          e.memory_bytes = g.memory(m).total();
          e.flops_per_step = g.totals(m).flops;
        } catch (const std::invalid_argument& err) {
          throw InputError("config makes an impossible model " + e.point.key() + ": " + err.what());
        }
        if (s.where.matches([&](const std::string& n) { return point_field(e.point, &e, n); })) out.push_back(e);
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
  std::vector<GridEntry> out;
  for (const Sweep& s : config.sweeps) expand_sweep(s, catalog, out);
  return out;
}

}  // namespace paradnn
