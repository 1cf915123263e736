// `paradnn quantize-search`: sensitivity-guided mixed precision for int8 inference points.
// Each quantizable layer's sensitivity is the fidelity loss (1 - top-1 agreement with the
// f32 model on the evaluation batches) when it alone is int8; layers are then made int8
// from least to most sensitive while the loss of the whole model stays within the budget,
// and every step is timed. The frontier CSV has one row per step (latency against loss).
#pragma once
#include <string>
#include <vector>

#include "paradnn/config.hpp"

namespace paradnn {

struct QuantizeSearchOptions {
  std::string config_path;
  std::string filter;        // --filter; only int8 inference points are searched
  std::string output;        // default results/<config name>.frontier.csv
  double budget = 0.01;      // largest accepted fidelity loss (1 - top-1 agreement)
  int threads = 0;
  std::string backend = "cpu";
  bool resume = false, force = false;
};

struct FrontierStep {
  std::string point_key, model_name;
  int step = 0;              // 0: every layer f32
  std::string layer;         // the layer this step makes int8 (empty at step 0)
  double sensitivity = 0;    // that layer's loss alone in int8
  int int8_layers = 0, layers = 0;
  double top1_agreement = 1, fidelity_loss = 0, logits_rel_l2 = 0;
  double time_per_step_s = 0, speedup_vs_f32 = 1;
  bool accepted = true;      // within the budget (a rejected step ends the search)
  std::string policy;        // the int8 layers after this step, by name
};

// Runs the search on every selected point; writes the frontier CSV and returns its rows.
std::vector<FrontierStep> quantize_search(const QuantizeSearchOptions& o, std::string* output_path = nullptr);
const std::vector<std::string>& frontier_columns();

}  // namespace paradnn
