// A graph prepared for the GPU: buffers, cuDNN/cuBLAS plans and synthetic data, built once
// outside the timed region; step() enqueues one training step or inference pass.
#pragma once
#include <memory>

#include "platforms/backend.hpp"

namespace paradnn::cuda {

std::unique_ptr<Executable> make_cuda_executable(const Graph& g, Mode m);

}  // namespace paradnn::cuda
