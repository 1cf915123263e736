#include "models/catalog.hpp"

#include "models/real/real_models.hpp"

namespace paradnn::models {

const Catalog& catalog() {
  // Defaults are ParaDnn's grid values (Wang, Wei, Brooks 2019; README "Sweep configs").
  static const Catalog c{
      {"fc",
       {{"layers", int64_t{4}, {}},
        {"nodes", int64_t{2048}, {}},
        {"input", int64_t{2000}, {}},
        {"output", int64_t{1000}, {}},
        {"branches", int64_t{1}, {}}},
       build_fc},
      {"cnn",
       {{"blocks", int64_t{1}, {}},
        {"filters", int64_t{16}, {}},
        {"image", int64_t{32}, {}},
        {"output", int64_t{1000}, {}},
        {"bottleneck", int64_t{0}, {}},
        {"branches", int64_t{1}, {}}},
       build_cnn},
      {"rnn",
       {{"cell", std::string("lstm"), {"rnn", "lstm", "gru"}},
        {"layers", int64_t{1}, {}},
        {"embed", int64_t{100}, {}},
        {"seq_len", int64_t{10}, {}},
        {"vocab", int64_t{1000}, {}}},
       build_rnn},
      // The six fixed real-world models; `image` defaults to the model's standard size
      // (224, RetinaNet 640) and does not apply to the transformer.
      {"real",
       {{"model", std::string("resnet50"), real_model_names()},
        {"image", int64_t{224}, {}, real_default_image}},
       build_real},
  };
  return c;
}

}  // namespace paradnn::models
