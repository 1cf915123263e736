// ParaDnn's fully-connected family: input -> `layers` x dense(nodes)+ReLU -> dense(output)
// -> softmax cross-entropy. With `branches` > 1 the hidden stack is split into parallel
// towers of nodes/branches units each, concatenated before the classifier (width for inter-op pools).
#include <stdexcept>

#include <algorithm>

#include "models/catalog.hpp"
#include "paradnn/bounds.hpp"
#include "paradnn/graph_builder.hpp"

namespace paradnn::models {

Graph build_fc(const Point& p) {
  const int64_t layers = p.get_int("layers"), nodes = p.get_int("nodes"), branches = p.get_int("branches");
  if (nodes % branches) throw std::invalid_argument("fc: nodes must be divisible by branches");
  const double in = static_cast<double>(p.get_int("input")), out = static_cast<double>(p.get_int("output"));
  const double n = static_cast<double>(nodes), width = std::max({in, n, out});
  bounds::require_model_size("fc", static_cast<double>(layers * branches),
                             std::max(static_cast<double>(p.batch) * width, width * width),
                             in * n + static_cast<double>(layers) * n * n / static_cast<double>(branches) + n * out);
  std::string name = "fc_l" + std::to_string(layers) + "_n" + std::to_string(nodes);
  if (branches > 1) name += "_b" + std::to_string(branches);
  GraphBuilder b("fc", name, p.batch, p.dtype, p.optimizer);
  const int x = b.input({p.batch, p.get_int("input")});
  std::vector<int> tower_outputs;
  for (int64_t t = 0; t < branches; ++t) {
    const std::string prefix = branches > 1 ? "t" + std::to_string(t) + "." : "";
    int h = x;
    for (int64_t l = 0; l < layers; ++l) {
      const std::string fc = prefix + "fc" + std::to_string(l + 1);
      h = b.relu(b.dense(h, nodes / branches, fc), fc + ".relu");
    }
    tower_outputs.push_back(h);
  }
  const int merged = branches > 1 ? b.concat(tower_outputs, "merge") : tower_outputs[0];
  b.softmax_xent(b.dense(merged, p.get_int("output"), "classifier"));
  return b.finish();
}

}  // namespace paradnn::models
