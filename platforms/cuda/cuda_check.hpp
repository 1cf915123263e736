// Error checks for CUDA, cuDNN and cuBLAS calls: each failure becomes an exception naming
// the call and the library's own error text, so a failed point's CSV row says what broke.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

namespace paradnn::cuda {

[[noreturn]] void throw_cuda(cudaError_t e, const char* what);
[[noreturn]] void throw_cudnn(cudnnStatus_t s, const char* what);
[[noreturn]] void throw_cublas(cublasStatus_t s, const char* what);

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw_cuda(e, what);
}
inline void check(cudnnStatus_t s, const char* what) {
  if (s != CUDNN_STATUS_SUCCESS) throw_cudnn(s, what);
}
inline void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw_cublas(s, what);
}

}  // namespace paradnn::cuda

// The call's text is the best name for it in an error message.
#define PARADNN_CUDA(call) ::paradnn::cuda::check((call), #call)
