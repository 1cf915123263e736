// MobileNet v1, width multiplier 1.0 (Howard et al. 2017, "MobileNets", table 1; layer
// details as Keras' MobileNet). Stem 3x3/2 conv 32 + BN + ReLU; 13 depthwise-separable
// blocks, each a 3x3 depthwise conv (groups = channels) + BN + ReLU then a 1x1 pointwise
// conv + BN + ReLU, with widths 64, 128, 128, 256, 256, 512 x 6, 1024, 1024 and stride 2
// on the depthwise convs of blocks 2, 4, 6 and 12; global average pool; dense 1024 ->
// 1000 with bias (Keras' 1x1 conv classifier); softmax cross-entropy. 4,231,976
// parameters. ReLU6 is counted and run as ReLU (same cost); dropout is left out.
#include "models/real/real_models.hpp"

namespace paradnn::models {

Graph mobilenet_v1(int64_t batch, int64_t image, DType dtype, Optimizer opt) {
  GraphBuilder b("real", real::sized_name("mobilenet_v1", image), batch, dtype, opt);
  int x = b.input({batch, 3, image, image});
  x = real::conv_bn(b, x, 32, 3, 2, 1, "conv1", true);
  struct Block {
    int64_t width, stride;
  };
  const Block blocks[13] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},  {512, 1},
                            {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  int64_t channels = 32;
  for (int i = 0; i < 13; ++i) {
    const std::string n = "block" + std::to_string(i + 1);
    x = real::conv_bn(b, x, channels, 3, blocks[i].stride, 1, n + ".dw", true, channels);
    x = real::conv_bn(b, x, blocks[i].width, 1, 1, 0, n + ".pw", true);
    channels = blocks[i].width;
  }
  x = b.global_avg_pool(x, "avgpool");
  b.softmax_xent(b.dense(x, 1000, "classifier"));
  return b.finish();
}

}  // namespace paradnn::models
