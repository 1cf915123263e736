// How the graph's dtypes map onto GPU storage and library types.
//
// Activations, weights copies and gradients of GEMM/conv layers are stored in one type per
// graph (f32 for f32 and tf32, else the 16-bit type); master weights, optimizer state and
// the loss are f32. tf32 differs from f32 only in the math mode the libraries are given.
#pragma once
#include <cublas_v2.h>
#include <cudnn.h>
#include <library_types.h>

#include <cstddef>

#include "paradnn/dtype.hpp"

namespace paradnn::cuda {

enum class Storage { f32, f16, bf16, s32 };  // s32: token ids and labels

Storage storage_type(DType t);  // int8/int16 map to f32 (cannot_run rejects them first)
size_t size_of(Storage s);
const char* to_string(Storage s);
cudnnDataType_t cudnn_type(Storage s);
cudaDataType_t cuda_type(Storage s);
cudnnMathType_t cudnn_math(DType t);     // FMA only for f32, tensor cores otherwise
cublasComputeType_t cublas_compute(DType t);  // 32F, or 32F_FAST_TF32 for tf32

}  // namespace paradnn::cuda
