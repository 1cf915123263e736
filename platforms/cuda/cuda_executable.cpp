#include "platforms/cuda/cuda_executable.hpp"

#include "paradnn/error.hpp"

namespace paradnn::cuda {

// Interim: the op implementations land in the next commits.
std::unique_ptr<Executable> make_cuda_executable(const Graph&, Mode) {
  throw Unsupported("cuda backend: graph execution is not implemented yet");
}

}  // namespace paradnn::cuda
