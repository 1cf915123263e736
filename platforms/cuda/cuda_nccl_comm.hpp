// The NCCL communicator of an MPI launch: every rank of MPI_COMM_WORLD, one GPU each (the
// device bind_local_device() picks). Rank 0's ncclUniqueId reaches the others by MPI_Bcast.
// Created once per process on first use and kept until the process exits (NCCL's teardown
// after the CUDA runtime's at exit is not safe to order).
#pragma once
#include <nccl.h>

#include <string>

namespace paradnn::cuda {

struct NcclWorld {
  ncclComm_t comm = nullptr;
  int rank = 0, ranks = 1, device = 0;
  std::string version;  // "NCCL 2.28.3"
};

// Throws std::logic_error where MPI is not initialized (the caller starts MPI), and the
// NCCL error text where the communicator cannot be created.
const NcclWorld& nccl_world();

void check_nccl(ncclResult_t r, const char* what);

}  // namespace paradnn::cuda

#define PARADNN_NCCL(call) ::paradnn::cuda::check_nccl((call), #call)
