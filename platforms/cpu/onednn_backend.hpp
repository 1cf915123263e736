// The CPU backend: graphs lowered to oneDNN primitives (onednn_net.hpp), run on the
// OpenMP threads the settings give the calling thread.
#pragma once
#include <memory>

#include "platforms/backend.hpp"

namespace paradnn::cpu {

std::unique_ptr<Backend> make_cpu_backend();

}  // namespace paradnn::cpu
