// Which ops run inside another op's call, decided once from the graph: a ReLU whose producer
// feeds only it runs as the producer's post-op, and int8 inference folds a batch norm that
// alone reads an int8 conv into the conv's weights and bias. Such an op runs no call of its
// own; its output (and gradient) is its producer's tensor.
#pragma once
#include <vector>

#include "paradnn/graph.hpp"

namespace paradnn::cpu {

class FusionPlan {
 public:
  // `fuse` = false keeps every op a call of its own (to check fusion changes nothing).
  FusionPlan(const Graph& g, Mode m, bool fuse);

  // The activation fused into op i's forward (a ReLU that follows it).
  Activation fused_post(int i) const { return post_[static_cast<size_t>(i)]; }
  // The batch norm folded into int8 conv op i (inference), or -1.
  int folded_norm(int i) const { return folded_norm_[static_cast<size_t>(i)]; }
  // Whether op i runs inside its producer's call (a fused ReLU, a folded norm).
  bool fused_away(int i) const { return fused_away_[static_cast<size_t>(i)]; }
  int canonical(int tensor) const;  // the op whose buffer holds `tensor` (fused ops share it)

 private:
  std::vector<Activation> post_;
  std::vector<bool> fused_away_;
  std::vector<int> alias_of_;     // fused ReLU or folded norm -> its producer
  std::vector<int> folded_norm_;  // int8 conv -> its folded batch norm
};

}  // namespace paradnn::cpu
