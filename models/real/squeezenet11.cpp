// SqueezeNet 1.1 (Iandola et al. 2016; version 1.1 from the authors' repository and
// torchvision's squeezenet1_1). Stem 3x3/2 conv 64 with bias + ReLU; 3x3/2 max-pools
// after the stem and after fire modules 2 and 4; eight fire modules (squeeze 1x1 s,
// then expand 1x1 e and expand 3x3 e concatenated; every conv with bias and ReLU) with
// (s, e) = (16, 64) x 2, (32, 128) x 2, (48, 192) x 2, (64, 256) x 2; classifier 1x1 conv
// 512 -> 1000 with bias + ReLU, global average pool, softmax cross-entropy. 1,235,496
// parameters. Dropout is left out. The pools are floor mode; torchvision uses ceil mode,
// which gives the same sizes at 224 (111 -> 55 -> 27 -> 13) but may differ by one pixel
// at other sizes.
#include "models/real/real_models.hpp"

namespace paradnn::models {

namespace {

int fire(GraphBuilder& b, int x, int64_t squeeze, int64_t expand, const std::string& name) {
  const int s = b.relu(b.conv_bias(x, squeeze, 1, 1, 0, name + ".squeeze"), name + ".squeeze.relu");
  const int e1 = b.relu(b.conv_bias(s, expand, 1, 1, 0, name + ".expand1x1"), name + ".expand1x1.relu");
  const int e3 = b.relu(b.conv_bias(s, expand, 3, 1, 1, name + ".expand3x3"), name + ".expand3x3.relu");
  return b.concat({e1, e3}, name + ".concat");
}

}  // namespace

Graph squeezenet11(int64_t batch, int64_t image, DType dtype, Optimizer opt) {
  GraphBuilder b("real", real::sized_name("squeezenet1_1", image), batch, dtype, opt);
  int x = b.input({batch, 3, image, image});
  x = b.relu(b.conv_bias(x, 64, 3, 2, 0, "conv1"), "conv1.relu");
  x = b.max_pool(x, 3, 2, 0, "pool1");
  x = fire(b, x, 16, 64, "fire2");
  x = fire(b, x, 16, 64, "fire3");
  x = b.max_pool(x, 3, 2, 0, "pool3");
  x = fire(b, x, 32, 128, "fire4");
  x = fire(b, x, 32, 128, "fire5");
  x = b.max_pool(x, 3, 2, 0, "pool5");
  x = fire(b, x, 48, 192, "fire6");
  x = fire(b, x, 48, 192, "fire7");
  x = fire(b, x, 64, 256, "fire8");
  x = fire(b, x, 64, 256, "fire9");
  x = b.relu(b.conv_bias(x, 1000, 1, 1, 0, "conv10"), "conv10.relu");
  x = b.global_avg_pool(x, "avgpool");
  b.softmax_xent(b.reshape(x, {batch, 1000}, "flatten"));
  return b.finish();
}

}  // namespace paradnn::models
