// The six real-world models ParaDnn paired with its generated grids, built from
// the same graph IR as the generators so every backend runs them unchanged. Each function
// builds one training/inference step's graph for a batch, compute dtype and optimizer;
// the convolutional ones take a square input image size. Data are synthetic; for RetinaNet
// anchor matching and box decoding happen outside the timed step (targets are data).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "paradnn/graph_builder.hpp"
#include "paradnn/point.hpp"

namespace paradnn::models {

// ResNet-50 v1.5 (torchvision's): stride 2 on the 3x3 conv of each downsampling bottleneck.
Graph resnet50(int64_t batch, int64_t image, DType dtype, Optimizer opt = Optimizer::sgd);
// DenseNet-121: growth 32, blocks 6-12-24-16, bottleneck 4 x growth, compression 0.5.
Graph densenet121(int64_t batch, int64_t image, DType dtype, Optimizer opt = Optimizer::sgd);
// MobileNet v1, width 1.0: 13 depthwise-separable blocks.
Graph mobilenet_v1(int64_t batch, int64_t image, DType dtype, Optimizer opt = Optimizer::sgd);
// SqueezeNet 1.1: 8 fire modules, classifier as a 1x1 conv.
Graph squeezenet11(int64_t batch, int64_t image, DType dtype, Optimizer opt = Optimizer::sgd);
// RetinaNet, ResNet-50 FPN P3-P7, 9 anchors, 80 classes; image a multiple of 32.
Graph retinanet(int64_t batch, int64_t image, DType dtype, Optimizer opt = Optimizer::sgd);
// Transformer base: 6+6 layers, d_model 512, 8 heads, feed-forward 2048, 32000 shared
// vocabulary tied with the output projection; source and target sequences of 128.
Graph transformer(int64_t batch, DType dtype, Optimizer opt = Optimizer::sgd);
// VGG-A (VGG-11), the multinode SGD studies' model; not one of ParaDnn's six.
Graph vgg_a(int64_t batch, int64_t image, DType dtype, Optimizer opt = Optimizer::sgd);

inline constexpr int64_t kRetinaNetClasses = 80;
inline constexpr int64_t kRetinaNetAnchors = 9;
inline constexpr int64_t kTransformerVocab = 32000;
inline constexpr int64_t kTransformerSeqLen = 128;

// The `real` family: hyperparameter `model` (one of real_model_names()) and `image`.
const std::vector<std::string>& real_model_names();
// The model's standard input size: 224, RetinaNet 640; nullopt for the transformer.
std::optional<Value> real_default_image(const Point& p);
// build_real (catalog.hpp) builds a point of the family.

// Pieces the models share.
namespace real {
// conv (no bias), batch norm, optional ReLU.
int conv_bn(GraphBuilder& b, int x, int64_t out, int64_t kernel, int64_t stride, int64_t pad, const std::string& name,
            bool relu, int64_t groups = 1);
// The ResNet-50 v1.5 trunk from the stem to the last bottleneck; C3, C4, C5 are the
// outputs of the stages with stride 8, 16 and 32 (what an FPN reads).
struct ResNetStages {
  int c3 = -1, c4 = -1, c5 = -1;
};
ResNetStages resnet50_trunk(GraphBuilder& b, int image_input);
std::string sized_name(const std::string& model, int64_t image);  // e.g. resnet50_i224
}  // namespace real

}  // namespace paradnn::models
