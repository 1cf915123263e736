#include "platforms/cuda/cuda_types.hpp"

namespace paradnn::cuda {

Storage storage_type(DType t) {
  switch (t) {
    case DType::f16: return Storage::f16;
    case DType::bf16: return Storage::bf16;
    case DType::s32: return Storage::s32;
    default: return Storage::f32;
  }
}

size_t size_of(Storage s) { return s == Storage::f16 || s == Storage::bf16 ? 2 : 4; }

const char* to_string(Storage s) {
  switch (s) {
    case Storage::f32: return "f32";
    case Storage::f16: return "f16";
    case Storage::bf16: return "bf16";
    case Storage::s32: return "s32";
  }
  return "?";
}

cudnnDataType_t cudnn_type(Storage s) {
  switch (s) {
    case Storage::f32: return CUDNN_DATA_FLOAT;
    case Storage::f16: return CUDNN_DATA_HALF;
    case Storage::bf16: return CUDNN_DATA_BFLOAT16;
    case Storage::s32: return CUDNN_DATA_INT32;
  }
  return CUDNN_DATA_FLOAT;
}

cudaDataType_t cuda_type(Storage s) {
  switch (s) {
    case Storage::f32: return CUDA_R_32F;
    case Storage::f16: return CUDA_R_16F;
    case Storage::bf16: return CUDA_R_16BF;
    case Storage::s32: return CUDA_R_32I;
  }
  return CUDA_R_32F;
}

// cuDNN's default math lets float convolutions use TF32; plain f32 must not, so it asks
// for FMA kernels only.
cudnnMathType_t cudnn_math(DType t) { return t == DType::f32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH; }

cublasComputeType_t cublas_compute(DType t) {
  return t == DType::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

}  // namespace paradnn::cuda
