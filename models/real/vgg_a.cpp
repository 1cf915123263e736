// VGG-A (Simonyan and Zisserman 2015, configuration A, "VGG-11"): eight 3x3 convolutions
// with bias and ReLU (64, 128, 256 x2, 512 x2, 512 x2) with a 2x2/2 max-pool after the
// 1st, 2nd, 4th, 6th and 8th; three dense layers 4096, 4096, 1000 (ReLU after the first
// two), softmax cross-entropy. 132,863,336 parameters at 224x224. Dropout is left out.
// The model of the multinode synchronous-SGD studies (Das et al. 2016) the scaling model
// is set against.
#include "models/real/real_models.hpp"

namespace paradnn::models {

Graph vgg_a(int64_t batch, int64_t image, DType dtype, Optimizer opt) {
  GraphBuilder b("real", real::sized_name("vgg_a", image), batch, dtype, opt);
  int x = b.input({batch, 3, image, image});
  const int64_t widths[] = {64, 128, 256, 256, 512, 512, 512, 512};
  const bool pool_after[] = {true, true, false, true, false, true, false, true};
  int pools = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string name = "conv" + std::to_string(i + 1);
    x = b.relu(b.conv_bias(x, widths[i], 3, 1, 1, name), name + ".relu");
    if (pool_after[i]) x = b.max_pool(x, 2, 2, 0, "pool" + std::to_string(++pools));
  }
  x = b.relu(b.dense(x, 4096, "fc6"), "fc6.relu");
  x = b.relu(b.dense(x, 4096, "fc7"), "fc7.relu");
  b.softmax_xent(b.dense(x, 1000, "fc8"));
  return b.finish();
}

}  // namespace paradnn::models
