// One process per GPU under an MPI launcher (mpirun, srun): the launcher's local rank picks
// the device, so every rank on a node drives a GPU of its own.
#pragma once

namespace paradnn::cuda {

// This process's rank among those the launcher started on this node (Open MPI, MPICH/Intel
// MPI or Slurm environment), or -1 outside a launcher.
int launcher_local_rank();

// Makes device (local rank mod device count) current for this thread and returns it; outside
// a launcher, or where there is no device, changes nothing and returns the current device (0).
int bind_local_device();

}  // namespace paradnn::cuda
