// The `real` family: dispatch from a grid point to one of the six fixed models, and the
// layers they share.
#include "models/real/real_models.hpp"

#include <stdexcept>

#include "models/catalog.hpp"

namespace paradnn::models {

const std::vector<std::string>& real_model_names() {
  static const std::vector<std::string> n{"resnet50", "densenet121", "mobilenet", "squeezenet", "retinanet", "transformer", "vgg_a"};
  return n;
}

std::optional<Value> real_default_image(const Point& p) {
  const std::string m = p.get_str("model");
  if (m == "transformer") return std::nullopt;
  return int64_t{m == "retinanet" ? 640 : 224};
}

Graph build_real(const Point& p) {
  const std::string m = p.get_str("model");
  if (m == "transformer") {
    if (p.hp.count("image"))
      throw std::invalid_argument("the transformer takes no image size (give image only in sweeps of image models)");
    return transformer(p.batch, p.dtype, p.optimizer);
  }
  const int64_t image = p.get_int("image");
  if (m == "resnet50") return resnet50(p.batch, image, p.dtype, p.optimizer);
  if (m == "densenet121") return densenet121(p.batch, image, p.dtype, p.optimizer);
  if (m == "mobilenet") return mobilenet_v1(p.batch, image, p.dtype, p.optimizer);
  if (m == "squeezenet") return squeezenet11(p.batch, image, p.dtype, p.optimizer);
  if (m == "retinanet") return retinanet(p.batch, image, p.dtype, p.optimizer);
  if (m == "vgg_a") return vgg_a(p.batch, image, p.dtype, p.optimizer);
  throw std::invalid_argument("unknown real model '" + m + "'");
}

namespace real {

int conv_bn(GraphBuilder& b, int x, int64_t out, int64_t kernel, int64_t stride, int64_t pad, const std::string& name,
            bool relu, int64_t groups) {
  const int y = b.batch_norm(b.conv(x, out, kernel, stride, pad, name, groups), name + ".bn");
  return relu ? b.relu(y, name + ".relu") : y;
}

std::string sized_name(const std::string& model, int64_t image) { return model + "_i" + std::to_string(image); }

}  // namespace real
}  // namespace paradnn::models
