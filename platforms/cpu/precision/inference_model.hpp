// A graph on the CPU backend that the caller feeds and reads, outside any timed region:
// calibration and fidelity run the f32 and reduced-precision models through it, and the
// learnable task trains one. Weights are the seeded ones the timed Executable uses, or
// given values by parameter name (trained weights).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "platforms/cpu/backend/onednn_net.hpp"

namespace paradnn::cpu {

using Weights = std::map<std::string, std::vector<float>>;  // IR parameter name -> f32 values

class InferenceModel {
 public:
  explicit InferenceModel(const Graph& g, Mode m = Mode::infer, const Weights& weights = {});

  // Every data op gets seeded batch `seed`: features uniform in [-1, 1], token ids uniform.
  void feed(uint64_t seed);
  void feed(int data_op, const std::vector<float>& values);  // f32 values in the IR's order
  void set_labels(const std::vector<int32_t>& labels);       // the loss's labels (training)
  void run();  // forward; backward and update too in training
  double loss() const { return net_->loss; }

  std::vector<float> tensor(int op);  // an op's output as f32 in the IR's order
  int logits_op() const;              // the loss op's input (the last op where there is no loss)
  int64_t classes() const;            // last dim of the logits
  Weights weights();                  // every parameter by its IR name, and norm_statistics()
  // Each batch norm's statistics ("<op>.mean", "<op>.var"): what inference normalizes with,
  // the last batch's after a training step.
  Weights norm_statistics();
  Net& net() { return *net_; }

 private:
  std::unique_ptr<Net> net_;
};

// The same graph with every op in f32 (token ids stay s32), costs counted again.
Graph f32_copy(const Graph& g);

}  // namespace paradnn::cpu
