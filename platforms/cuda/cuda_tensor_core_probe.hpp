// The tensor cores' throughput from a hand-written kernel: warp-level mma.sync (PTX
// m16n8k16 for f16 and bf16, m16n8k8 for tf32, f32 accumulate) with every operand held in
// registers, several independent accumulator chains per warp and many iterations, timed with
// CUDA events. Its results are checked on the host against the exact expected values.
// This is the warp-synchronous MMA path (sm_80 onwards); on sm_90 the asynchronous
// warpgroup wgmma path that cuBLASLt uses reaches a higher ceiling (the library_gemm rows).
#pragma once
#include "paradnn/dtype.hpp"
#include "platforms/cuda/cuda_event_timing.hpp"

namespace paradnn::cuda {

// The method name of its rows in a platform file.
inline constexpr const char* kTensorCoreMethod = "tensor_core_kernel";

// FLOP/s of mma.sync for `t` (f16, bf16 or tf32). Throws Unsupported below sm_80 or for
// another dtype, std::runtime_error where a result differs from the exact expected value.
Rate mma_throughput(DType t, int repetitions);

}  // namespace paradnn::cuda
