// The CUDA backend built without NCCL (or without MPI): data-parallel training says how to get it.
#include "paradnn/error.hpp"
#include "platforms/cuda/cuda_data_parallel.hpp"

namespace paradnn::cuda {

std::unique_ptr<CudaDataParallelExecutable> make_cuda_data_parallel(const Graph&, const DataParallelOptions&) {
  throw Unsupported("the cuda backend was built without NCCL: data-parallel training on GPUs needs NCCL (libnccl.so "
                    "and nccl.h in the CUDA toolkit's directories) and MPI (libopenmpi-dev) at configure time");
}

}  // namespace paradnn::cuda
