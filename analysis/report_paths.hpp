// Where a report's files go. Their names come partly from data (families, platforms, input
// file names), so each is made a safe file name and checked to stay inside the report's folder.
#pragma once
#include <string>
#include <vector>

namespace paradnn::analysis {

// `raw` as one safe path component: letters, digits, '-', '_' and '.' kept, anything else
// '_', no leading '.', never empty. Where anything was replaced, a short hash of `raw` is
// appended so that different values keep different names.
std::string safe_name(const std::string& raw);

// `relative` under `dir`; InputError where the result would lie outside `dir`.
std::string path_inside(const std::string& dir, const std::string& relative);

// A file-name prefix per input path: its stem made safe, and unique among them (x, x-2, ...),
// so inputs of the same name from different folders do not overwrite each other's files.
std::vector<std::string> unique_prefixes(const std::vector<std::string>& paths);

}  // namespace paradnn::analysis
