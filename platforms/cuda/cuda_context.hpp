// The stream, library handles and shared workspace of one prepared graph.
#pragma once
#include "platforms/cuda/cuda_check.hpp"
#include "platforms/cuda/device_buffer.hpp"

namespace paradnn::cuda {

struct Context {
  Context();
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Grows the shared workspace; called while preparing, never inside a step.
  void reserve_workspace(size_t bytes);

  cudaStream_t stream = nullptr;
  cudnnHandle_t dnn = nullptr;
  cublasHandle_t blas = nullptr;
  DeviceBuffer workspace;  // one buffer for every op's cuDNN workspace: ops run one at a time
};

}  // namespace paradnn::cuda
