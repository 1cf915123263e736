// The CUDA backend: the generated models on an NVIDIA GPU through cuDNN 9 and cuBLAS.
#pragma once
#include <memory>

#include "platforms/backend.hpp"

namespace paradnn::cuda {

std::unique_ptr<Backend> make_cuda_backend();

}  // namespace paradnn::cuda
