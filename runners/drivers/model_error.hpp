// `paradnn model-error`: the roofline performance model (platforms/model) against measured
// rows. Each config point with an ok row in the results is rebuilt, its step predicted from
// the platform file's ceilings at the row's thread count, and written as a row beside the
// measurement; the median absolute relative error is summarised per family and mode.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace paradnn {

struct ModelErrorOptions {
  std::string config_path, results, platform, output, filter;
  bool resume = false, force = false;
};

struct ModelErrorSummary {
  std::string output;
  std::map<std::string, std::pair<size_t, double>> groups;  // "fc train" / "all" -> points, median |error|
  int unmatched = 0;  // result rows that are no point of the config
};

ModelErrorSummary run_model_error(const ModelErrorOptions& o);

}  // namespace paradnn
