#include "platforms/cuda/cuda_nccl_comm.hpp"

#include <mpi.h>

#include <memory>
#include <mutex>
#include <stdexcept>

#include "platforms/cuda/cuda_check.hpp"
#include "platforms/cuda/cuda_device_binding.hpp"

namespace paradnn::cuda {

void check_nccl(ncclResult_t r, const char* what) {
  if (r == ncclSuccess || r == ncclInProgress) return;
  std::string text = std::string(what) + " failed: " + ncclGetErrorString(r);
  throw std::runtime_error(text);
}

namespace {

NcclWorld* create() {
  int up = 0;
  MPI_Initialized(&up);
  if (!up) throw std::logic_error("NCCL data-parallel needs MPI started first (run under mpirun)");
  auto w = std::make_unique<NcclWorld>();
  MPI_Comm_rank(MPI_COMM_WORLD, &w->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w->ranks);
  w->device = bind_local_device();
  ncclUniqueId id{};
  if (w->rank == 0) PARADNN_NCCL(ncclGetUniqueId(&id));
  if (MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Bcast of the ncclUniqueId failed");
  PARADNN_NCCL(ncclCommInitRank(&w->comm, w->ranks, id, w->rank));
  int v = 0;
  PARADNN_NCCL(ncclGetVersion(&v));  // 22803 for 2.28.3
  w->version = "NCCL " + std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
  return w.release();  // kept until exit: see the header
}

}  // namespace

const NcclWorld& nccl_world() {
  static std::mutex m;
  static NcclWorld* world = nullptr;
  std::lock_guard<std::mutex> lock(m);
  if (!world) world = create();
  PARADNN_CUDA(cudaSetDevice(world->device));  // this thread drives the communicator's GPU
  return *world;
}

}  // namespace paradnn::cuda
