// ParaDnn's convolutional family: ResNet v1 (post-activation). Stem 7x7/2 conv, BN, ReLU,
// 3x3/2 max-pool; 4 groups of `blocks` residual blocks with F, 2F, 4F, 8F filters and
// strides 1, 2, 2, 2 (a 1x1 projection shortcut opens each group); global average pool;
// dense to `output`; softmax cross-entropy. Basic block: two 3x3 convs; bottleneck:
// 1x1 F, 3x3 F, 1x1 4F. With `branches` > 1 each block's residual path is split into
// parallel towers of F/branches filters whose outputs are concatenated (ResNeXt-like width).
#include <stdexcept>

#include <algorithm>

#include "models/catalog.hpp"
#include "paradnn/bounds.hpp"
#include "paradnn/graph_builder.hpp"

namespace paradnn::models {

namespace {

int conv_bn(GraphBuilder& b, int x, int64_t out, int64_t k, int64_t stride, const std::string& name, bool relu) {
  const int y = b.batch_norm(b.conv(x, out, k, stride, k / 2, name), name + ".bn");
  return relu ? b.relu(y, name + ".relu") : y;
}

// The residual path of one block, without its final ReLU.
int residual(GraphBuilder& b, int x, int64_t f, int64_t stride, bool bottleneck, const std::string& name) {
  if (!bottleneck) return conv_bn(b, conv_bn(b, x, f, 3, stride, name + ".conv1", true), f, 3, 1, name + ".conv2", false);
  int y = conv_bn(b, x, f, 1, 1, name + ".conv1", true);
  y = conv_bn(b, y, f, 3, stride, name + ".conv2", true);
  return conv_bn(b, y, 4 * f, 1, 1, name + ".conv3", false);
}

}  // namespace

Graph build_cnn(const Point& p) {
  const int64_t blocks = p.get_int("blocks"), filters = p.get_int("filters"), image = p.get_int("image");
  const int64_t branches = p.get_int("branches");
  const bool bottleneck = p.get_int("bottleneck") != 0;
  if (filters % branches) throw std::invalid_argument("cnn: filters must be divisible by branches");
  {
    // Upper bounds: the stem and first group hold the largest activations, the last group
    // the widest weights; each group has 2-3 convs per block and tower, 4x wider at the end.
    const double f = static_cast<double>(filters) * (bottleneck ? 4 : 1), px = static_cast<double>(image * image);
    const double widest = 8 * f, blk = static_cast<double>(blocks);
    bounds::require_model_size("cnn", 4 * blk * (3 * static_cast<double>(branches) + 6),
                               std::max(static_cast<double>(p.batch) * px * std::max(3.0, widest), widest * widest * 49),
                               blk * 3 * 9 * widest * widest * 4 / 3 + widest * static_cast<double>(p.get_int("output")));
  }
  std::string name = "resnet_b" + std::to_string(blocks) + "_f" + std::to_string(filters) + "_i" + std::to_string(image) +
                     (bottleneck ? "_bottleneck" : "_basic");
  if (branches > 1) name += "_x" + std::to_string(branches);
  GraphBuilder b("cnn", name, p.batch, p.dtype, p.optimizer);
  int x = b.input({p.batch, 3, image, image});
  x = conv_bn(b, x, filters, 7, 2, "stem", true);
  x = b.max_pool(x, 3, 2, 1, "stem.pool");
  const int64_t expansion = bottleneck ? 4 : 1;
  for (int g = 0; g < 4; ++g) {
    const int64_t f = filters << g;
    for (int64_t k = 0; k < blocks; ++k) {
      const std::string blk = "g" + std::to_string(g + 1) + "b" + std::to_string(k + 1);
      const int64_t stride = (k == 0 && g > 0) ? 2 : 1;
      int path;
      if (branches == 1) {
        path = residual(b, x, f, stride, bottleneck, blk);
      } else {
        std::vector<int> towers;
        for (int64_t t = 0; t < branches; ++t)
          towers.push_back(residual(b, x, f / branches, stride, bottleneck, blk + ".t" + std::to_string(t)));
        path = b.concat(towers, blk + ".merge");
      }
      const int shortcut = k == 0 ? conv_bn(b, x, f * expansion, 1, stride, blk + ".proj", false) : x;
      x = b.relu(b.add({path, shortcut}, blk + ".add"), blk + ".relu");
    }
  }
  x = b.global_avg_pool(x, "pool");
  b.softmax_xent(b.dense(x, p.get_int("output"), "classifier"));
  return b.finish();
}

}  // namespace paradnn::models
