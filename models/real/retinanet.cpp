// RetinaNet (Lin et al. 2017, "Focal Loss for Dense Object Detection") with a ResNet-50
// FPN backbone, as the paper builds it:
// - ResNet-50 v1.5 trunk (resnet50.cpp); C3, C4, C5 at strides 8, 16, 32.
// - FPN: 1x1 lateral convs to 256 on C3-C5, top-down path by nearest 2x upsampling and
//   addition, 3x3 output convs giving P3-P5; P6 = 3x3/2 conv on C5 and P7 = 3x3/2 conv
//   on ReLU(P6) (the paper's choice; torchvision computes P6 from P5). Convs with bias.
// - Heads: a class subnet and a box subnet, each four 3x3 convs 256 wide with ReLU and a
//   final 3x3 conv to A x K class logits (A = 9 anchors, K = 80 classes) or A x 4 box
//   deltas. The subnets are applied at every level with the same weights: the P3
//   convolutions own the parameters and those of P4-P7 share them (shares_params_with).
// - Loss: each level's outputs are arranged as [N, anchors, K + 4] (class logits then
//   box deltas of each anchor) and concatenated over levels; one focal_loss op over all
//   anchors takes both. The IR has no separate smooth-L1 op, so the 4 box columns are
//   counted at the focal loss's per-element cost: the loss is under 0.1% of the step's
//   FLOPs, and every head conv, box subnet included, receives a gradient. Anchor
//   generation, matching of anchors to ground truth and box decoding are data preparation
//   and post-processing outside the timed step (the targets are synthetic data).
// Batch norm in the backbone is trained (detection codes often freeze it; the FLOPs hardly
// differ). 37,968,692 parameters; tests/test_real_models.cpp reconciles this with
// torchvision's 34,014,999.
#include "models/real/real_models.hpp"

#include <stdexcept>

namespace paradnn::models {

namespace {

constexpr int64_t kWidth = 256;

// One subnet applied to one level; `owners` empty at the first level (which fills it).
int subnet(GraphBuilder& b, int x, int64_t outputs, const std::string& name, std::vector<int>& owners) {
  const bool first = owners.empty();
  for (int i = 0; i <= 4; ++i) {
    const bool last = i == 4;
    const int c = b.conv_bias(x, last ? outputs : kWidth, 3, 1, 1, name + (last ? ".out" : ".conv" + std::to_string(i + 1)));
    if (first) owners.push_back(c);
    else b.share_params(c, owners[static_cast<size_t>(i)]);
    x = last ? c : b.relu(c, name + ".relu" + std::to_string(i + 1));
  }
  return x;
}

}  // namespace

Graph retinanet(int64_t batch, int64_t image, DType dtype, Optimizer opt) {
  if (image % 32)
    throw std::invalid_argument("retinanet: the image size must be a multiple of 32 (so FPN levels add up), got " +
                                std::to_string(image));
  const int64_t A = kRetinaNetAnchors, K = kRetinaNetClasses;
  GraphBuilder b("real", real::sized_name("retinanet_r50_fpn", image), batch, dtype, opt);
  const int x = b.input({batch, 3, image, image});
  const real::ResNetStages c = real::resnet50_trunk(b, x);

  const int lat5 = b.conv_bias(c.c5, kWidth, 1, 1, 0, "fpn.lateral5");
  const int lat4 = b.conv_bias(c.c4, kWidth, 1, 1, 0, "fpn.lateral4");
  const int lat3 = b.conv_bias(c.c3, kWidth, 1, 1, 0, "fpn.lateral3");
  const int td4 = b.add({lat4, b.upsample(lat5, 2, "fpn.up5")}, "fpn.merge4");
  const int td3 = b.add({lat3, b.upsample(td4, 2, "fpn.up4")}, "fpn.merge3");
  const int p3 = b.conv_bias(td3, kWidth, 3, 1, 1, "fpn.p3");
  const int p4 = b.conv_bias(td4, kWidth, 3, 1, 1, "fpn.p4");
  const int p5 = b.conv_bias(lat5, kWidth, 3, 1, 1, "fpn.p5");
  const int p6 = b.conv_bias(c.c5, kWidth, 3, 2, 1, "fpn.p6");
  const int p7 = b.conv_bias(b.relu(p6, "fpn.p6.relu"), kWidth, 3, 2, 1, "fpn.p7");

  std::vector<int> cls_owners, box_owners, per_level;
  const int levels[5] = {p3, p4, p5, p6, p7};
  for (int l = 0; l < 5; ++l) {
    const std::string n = "head.p" + std::to_string(l + 3);
    const int cls = subnet(b, levels[l], A * K, n + ".cls", cls_owners);
    const int box = subnet(b, levels[l], A * 4, n + ".box", box_owners);
    const Dims d = b.dims(cls);
    const int64_t hw = d[2] * d[3];
    // [N, A*K, H, W] -> [N*A, K, HW]; with the boxes [N*A, K+4, HW] -> [N*A, HW, K+4]
    // -> [N, A*HW, K+4]: one row per anchor.
    const int cls_r = b.reshape(cls, {batch * A, K, hw}, n + ".cls.rows");
    const int box_r = b.reshape(box, {batch * A, 4, hw}, n + ".box.rows");
    const int both = b.concat({cls_r, box_r}, n + ".outputs");
    const int t = b.transpose(both, {0, 2, 1}, n + ".anchor_major");
    per_level.push_back(b.reshape(t, {batch, A * hw, K + 4}, n + ".anchors"));
  }
  b.focal_loss(b.concat(per_level, "anchors"));
  return b.finish();
}

}  // namespace paradnn::models
