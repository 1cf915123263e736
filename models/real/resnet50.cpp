// ResNet-50 v1.5 (He et al. 2016, "Deep Residual Learning"; v1.5 as in torchvision and
// NVIDIA's reference: the stride of a downsampling bottleneck sits on its 3x3 conv, not
// its first 1x1). Stem 7x7/2 conv 64, BN, ReLU, 3x3/2 max-pool; stages of 3, 4, 6, 3
// bottlenecks (1x1 w, 3x3 w, 1x1 4w; w = 64, 128, 256, 512); projection shortcut (1x1
// conv + BN) on each stage's first block; global average pool; dense 2048 -> 1000;
// softmax cross-entropy. 25,557,032 parameters (BN gamma and beta included).
#include "models/real/real_models.hpp"

namespace paradnn::models {

namespace real {

ResNetStages resnet50_trunk(GraphBuilder& b, int x) {
  x = conv_bn(b, x, 64, 7, 2, 3, "conv1", true);
  x = b.max_pool(x, 3, 2, 1, "pool1");
  const int64_t blocks[4] = {3, 4, 6, 3};
  ResNetStages out;
  for (int s = 0; s < 4; ++s) {
    const int64_t w = int64_t{64} << s;
    for (int64_t k = 0; k < blocks[s]; ++k) {
      const std::string n = "layer" + std::to_string(s + 1) + "." + std::to_string(k);
      const int64_t stride = (k == 0 && s > 0) ? 2 : 1;
      int y = conv_bn(b, x, w, 1, 1, 0, n + ".conv1", true);
      y = conv_bn(b, y, w, 3, stride, 1, n + ".conv2", true);
      y = conv_bn(b, y, 4 * w, 1, 1, 0, n + ".conv3", false);
      const int shortcut = k == 0 ? conv_bn(b, x, 4 * w, 1, stride, 0, n + ".downsample", false) : x;
      x = b.relu(b.add({y, shortcut}, n + ".add"), n + ".relu");
    }
    if (s == 1) out.c3 = x;
    if (s == 2) out.c4 = x;
    if (s == 3) out.c5 = x;
  }
  return out;
}

}  // namespace real

Graph resnet50(int64_t batch, int64_t image, DType dtype, Optimizer opt) {
  GraphBuilder b("real", real::sized_name("resnet50", image), batch, dtype, opt);
  const int x = b.input({batch, 3, image, image});
  const real::ResNetStages st = real::resnet50_trunk(b, x);
  const int pooled = b.global_avg_pool(st.c5, "avgpool");
  b.softmax_xent(b.dense(pooled, 1000, "fc"));
  return b.finish();
}

}  // namespace paradnn::models
