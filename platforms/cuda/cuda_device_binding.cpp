#include "platforms/cuda/cuda_device_binding.hpp"

#include <cstdlib>

#include "platforms/cuda/cuda_check.hpp"

namespace paradnn::cuda {

int launcher_local_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "SLURM_LOCALID"})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return -1;
}

int bind_local_device() {
  int current = 0;
  const int local = launcher_local_rank();
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    return current;
  }
  if (local < 0) {
    PARADNN_CUDA(cudaGetDevice(&current));
    return current;
  }
  const int device = local % count;
  PARADNN_CUDA(cudaSetDevice(device));
  return device;
}

}  // namespace paradnn::cuda
