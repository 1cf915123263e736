// The GPU's measured ceilings: FMA throughput per dtype from a hand-written kernel (CUDA
// cores: f32 FFMA, f16x2 and bf16x2 HFMA2), the tensor cores' throughput from a
// hand-written mma.sync kernel (cuda_tensor_core_probe), the tensor-core ceiling of cuBLASLt's best
// large GEMM (f16, bf16, tf32; f32 for the CUDA-core library figure), and read/triad
// bandwidth with working sets inside L2 and far beyond it (HBM). Each figure is the best
// of several repetitions with its spread.
#pragma once
#include <string>

#include "platforms/cuda/cuda_event_timing.hpp"
#include "platforms/cuda/cuda_types.hpp"
#include "paradnn/platform_file.hpp"

namespace paradnn::cuda {


// Throws std::runtime_error where the kernel's results differ from the exact expected ones.
Rate fma_throughput(Storage t, int repetitions);
Rate library_gemm(DType t, int n, int repetitions);  // f16, bf16, tf32 or f32; n x n x n
Rate read_bandwidth(size_t working_set_bytes, int repetitions);
Rate triad_bandwidth(size_t working_set_bytes, int repetitions);

PlatformFile measure_cuda_roofline(int repetitions = 5);

}  // namespace paradnn::cuda
