// Text tables for the terminal and the report's index.md: Markdown pipe tables, padded
// so they also read as plain text.
#pragma once
#include <string>
#include <vector>

#include "analysis/compare.hpp"
#include "analysis/sensitivity.hpp"

namespace paradnn::analysis {

std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// Speedup table: platform, family, mode, dtype, points, geomean, min, max.
std::string format_speedups(const std::vector<SpeedupGroup>& summary, const std::vector<CompareInput>& inputs = {});

// Joined, one-side-only and not-ok counts, and up to `list_limit` unjoined workloads of each kind.
std::string format_join_report(const Comparison& c, size_t list_limit = 20);

// Geometric-mean speedup per platform and family/mode/dtype with min, max and counts;
// then the joined, one-side-only and not-ok counts, and up to `list_limit` unjoined workloads.
std::string format_comparison(const Comparison& c, size_t list_limit = 20);

// One line per family/mode/dtype: points, R^2 and each term's weight; notes after the table.
std::string format_sensitivity(const std::vector<SensitivityFit>& fits);

}  // namespace paradnn::analysis
