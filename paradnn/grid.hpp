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
};

std::vector<GridEntry> expand(const Config& config, const Catalog& catalog);

// Graph of a point, through the family's generator.
Graph build_graph(const Point& p, const Catalog& catalog);

// Field lookup for filters: hyperparameters, family, mode, dtype, batch, optimizer,
// and, where an entry is given, params, memory and flops.
std::optional<std::string> point_field(const Point& p, const GridEntry* e, const std::string& name);

}  // namespace paradnn
