// How the analysis reads result rows: the workload a row measured, its numbers, and the
// family/mode/dtype groups that fits, heat maps and summaries are made per.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "paradnn/csv.hpp"

namespace paradnn::analysis {

// Family, the hyperparameters the row sets, mode, dtype and batch, e.g.
// "fc:layers=2,nodes=256:train:f32:batch=64". Built from columns, so files from
// versions with extra columns still join.
std::string workload_key(const Row& row);

// The column as a number; nullopt where it is missing, empty or not a number.
std::optional<double> number(const Row& row, const std::string& column);

// The value of `column`, or "" where the row lacks it.
std::string field(const Row& row, const std::string& column);

struct Group {
  std::string family, mode, dtype;
  auto operator<=>(const Group&) const = default;
  std::string label() const;  // "fc train f32"
};
Group group_of(const Row& row);

// Rows with status ok (every row of a table without a status column, such as a comparison),
// by family/mode/dtype, in file order within each group.
std::map<Group, std::vector<const Row*>> ok_rows_by_group(const CsvTable& table);

// Columns among `candidates` that take more than one value in `rows`, the one with the
// most distinct values first (ties in candidate order).
std::vector<std::string> varying_columns(const std::vector<const Row*>& rows,
                                         const std::vector<std::string>& candidates);

// hyperparameter_columns() and then batch: the axes a workload varies along.
std::vector<std::string> workload_axes();

}  // namespace paradnn::analysis
