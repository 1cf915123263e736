// DenseNet-121 (Huang et al. 2017, "Densely Connected Convolutional Networks"; layer
// order as torchvision's densenet121). Stem 7x7/2 conv 64, BN, ReLU, 3x3/2 max-pool; four
// dense blocks of 6, 12, 24, 16 layers, each layer BN-ReLU-1x1 conv (4 x 32) then
// BN-ReLU-3x3 conv (growth 32) whose output is concatenated onto the block's features;
// between blocks a transition BN-ReLU-1x1 conv halving the channels and 2x2/2 average
// pool; final BN, ReLU, global average pool, dense 1024 -> 1000, softmax cross-entropy.
// 7,978,856 parameters.
//
// The concatenation grows one layer at a time (features = concat(features, new)), as
// frameworks without a shared concat buffer run it: each layer rereads all earlier features.
#include "models/real/real_models.hpp"

namespace paradnn::models {

namespace {

constexpr int64_t kGrowth = 32, kBottleneck = 4;

int bn_relu_conv(GraphBuilder& b, int x, int64_t out, int64_t kernel, int64_t pad, const std::string& name) {
  const int y = b.relu(b.batch_norm(x, name + ".norm"), name + ".relu");
  return b.conv(y, out, kernel, 1, pad, name + ".conv");
}

}  // namespace

Graph densenet121(int64_t batch, int64_t image, DType dtype, Optimizer opt) {
  GraphBuilder b("real", real::sized_name("densenet121", image), batch, dtype, opt);
  int x = b.input({batch, 3, image, image});
  x = real::conv_bn(b, x, 64, 7, 2, 3, "conv0", true);
  x = b.max_pool(x, 3, 2, 1, "pool0");
  const int64_t layers[4] = {6, 12, 24, 16};
  int64_t channels = 64;
  for (int blk = 0; blk < 4; ++blk) {
    for (int64_t l = 0; l < layers[blk]; ++l) {
      const std::string n = "block" + std::to_string(blk + 1) + ".layer" + std::to_string(l + 1);
      int y = bn_relu_conv(b, x, kBottleneck * kGrowth, 1, 0, n + ".1");
      y = bn_relu_conv(b, y, kGrowth, 3, 1, n + ".2");
      x = b.concat({x, y}, n + ".concat");
      channels += kGrowth;
    }
    if (blk < 3) {
      const std::string n = "transition" + std::to_string(blk + 1);
      channels /= 2;
      x = b.avg_pool(bn_relu_conv(b, x, channels, 1, 0, n), 2, 2, 0, n + ".pool");
    }
  }
  x = b.relu(b.batch_norm(x, "norm5"), "relu5");
  x = b.global_avg_pool(x, "avgpool");
  b.softmax_xent(b.dense(x, 1000, "classifier"));
  return b.finish();
}

}  // namespace paradnn::models
