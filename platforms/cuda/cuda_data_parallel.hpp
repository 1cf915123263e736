// The CUDA backend's data-parallel training step (Backend::prepare_data_parallel): one
// process per GPU under an MPI launcher, gradients averaged with NCCL
// (cuda_gradient_allreduce). Built where CMake found NCCL and MPI; elsewhere
// make_cuda_data_parallel throws Unsupported saying the build has no NCCL.
#pragma once
#include <memory>

#include "platforms/backend.hpp"

namespace paradnn::cuda {

class CudaExecutable;

// Each of step(), local_step() and reduce_only() enqueues its work and then waits for it at
// its end (the step boundary), so the data-parallel driver's host clock times whole steps;
// nothing inside a step waits on the host. step_seconds() (Clock::device) is the step on
// CUDA events.
class CudaDataParallelExecutable : public DataParallelExecutable {
 public:
  virtual CudaExecutable& executable() = 0;  // the rank's own step, for tests to read back
};

std::unique_ptr<CudaDataParallelExecutable> make_cuda_data_parallel(const Graph& g, const DataParallelOptions& o);

}  // namespace paradnn::cuda
