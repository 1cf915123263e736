#include "platforms/cuda/cuda_context.hpp"

namespace paradnn::cuda {

Context::Context() {
  PARADNN_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  PARADNN_CUDA(cudnnCreate(&dnn));
  PARADNN_CUDA(cudnnSetStream(dnn, stream));
  PARADNN_CUDA(cublasCreate(&blas));
  PARADNN_CUDA(cublasSetStream(blas, stream));
}

Context::~Context() {
  if (blas) cublasDestroy(blas);
  if (dnn) cudnnDestroy(dnn);
  if (stream) cudaStreamDestroy(stream);
}

void Context::reserve_workspace(size_t bytes) {
  if (bytes > workspace.bytes()) workspace = DeviceBuffer(bytes);
}

}  // namespace paradnn::cuda
