// Merging sharded result files: schema and duplicates checked, missing points listed.
#pragma once
#include <string>
#include <vector>

#include "paradnn/csv.hpp"

namespace paradnn {

struct MergeResult {
  std::vector<std::string> header;
  std::vector<Row> rows;
  std::vector<std::string> missing;  // point keys of the config no input produced
  int duplicates_dropped = 0;        // identical rows that appeared twice (a shard re-submitted)
};

// Throws InputError naming file:line for mismatched schemas and for two different
// results of the same point. With a config, rows come out in the config's order.
MergeResult merge_results(const std::vector<std::string>& inputs, const std::string& config_path);

}  // namespace paradnn
