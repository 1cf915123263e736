#include "platforms/cuda/cuda_check.hpp"

#include "paradnn/error.hpp"

namespace paradnn::cuda {

void throw_cuda(cudaError_t e, const char* what) {
  const std::string msg = std::string(what) + ": " + cudaGetErrorString(e);
  (void)cudaGetLastError();  // clear a sticky-free error so the next point starts clean
  // Out of memory is a property of the point, not a bug: the runner makes it a skipped row.
  if (e == cudaErrorMemoryAllocation) throw Unsupported("out of GPU memory: " + msg);
  throw std::runtime_error(msg);
}

void throw_cudnn(cudnnStatus_t s, const char* what) {
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof detail);  // cuDNN 9 says which parameter it refused
  std::string msg = std::string(what) + ": " + cudnnGetErrorString(s);
  if (detail[0]) msg += std::string(" (") + detail + ")";
  if (CUDNN_STATUS_CATEGORY(s) == CUDNN_STATUS_NOT_SUPPORTED || s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    throw Unsupported("cuDNN: " + msg);
  throw std::runtime_error(msg);
}

void throw_cublas(cublasStatus_t s, const char* what) {
  const std::string msg = std::string(what) + ": " + cublasGetStatusString(s);
  if (s == CUBLAS_STATUS_NOT_SUPPORTED || s == CUBLAS_STATUS_ALLOC_FAILED) throw Unsupported("cuBLAS: " + msg);
  throw std::runtime_error(msg);
}

}  // namespace paradnn::cuda
