// Grid expansion: the cartesian product of a config's axes, filtered by `where:`.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "paradnn/config.hpp"

namespace paradnn {

// A point with the figures `list`, filters and sharding need, counted from its graph.
struct GridEntry {
  Point point;
  int64_t params = 0;
  double memory_bytes = 0;  // Graph::memory(mode).total()
  double flops_per_step = 0;
  std::string model_name;   // Graph::name, as the row's model_name column says it
};

std::vector<GridEntry> expand(const Config& config, const Catalog& catalog);

// Graph of a point, through the family's generator.
Graph build_graph(const Point& p, const Catalog& catalog);

// Field lookup for filters: hyperparameters, family (model_family), mode, dtype, batch,
// optimizer, and, where an entry is given, model_name, params, memory
// (memory_estimated_bytes) and flops (flops_per_step).
std::optional<std::string> point_field(const Point& p, const GridEntry* e, const std::string& name);

// Every name point_field knows for some point of `catalog`, sorted.
std::vector<std::string> filter_names(const Catalog& catalog);
// Throws InputError "<where>: unknown filter name 'x'; valid names: ..." for a name that no
// point could have (a typo would otherwise silently select nothing).
void check_filter_names(const Filter& f, const Catalog& catalog, const std::string& where);

}  // namespace paradnn
