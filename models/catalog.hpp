// The model families paradnn generates, with their hyperparameters and defaults.
#pragma once
#include "paradnn/config.hpp"

namespace paradnn::models {

const Catalog& catalog();

Graph build_fc(const Point& p);
Graph build_cnn(const Point& p);
Graph build_rnn(const Point& p);
Graph build_real(const Point& p);  // models/real/

}  // namespace paradnn::models
