// Data-parallel training and the all-reduce probe under an MPI launcher (mpirun, srun).
// Built with MPI where CMake finds it; without MPI these entry points say how to get it.
#pragma once
#include <string>
#include <vector>

#include "platforms/backend.hpp"
#include "runners/drivers/sweep.hpp"

namespace paradnn {

struct DataParallelRun {
  std::string scaling;  // "strong": the config's batch is global, each rank runs batch/R; "weak": each rank runs batch
  DataParallelOptions allreduce;  // overlap and bucket size (platforms/backend.hpp)
};

// Every rank runs every train point of the point loop; rank 0 writes the rows. Per point: the
// single-node step (rank 0 alone, the others wait), each rank's step without communication
// (all ranks at once), the all-reduce alone, and the data-parallel step. Iteration counts
// are agreed by all ranks (collectives need them equal), so timing is a fixed-count loop
// per repetition, not Google Benchmark's adaptive one; each repetition's time is the
// slowest rank's.
SweepSummary run_data_parallel(const SweepOptions& sweep, const DataParallelRun& dp);

// All-reduce (f32 sum, MPI_COMM_WORLD) over message sizes: nccl-tests' algorithm and bus
// bandwidth (busbw = algbw * 2(R-1)/R), best of `repetitions` timed loops per size.
struct AllreduceSample {
  int ranks = 0;
  double bytes = 0, seconds = 0, algbw = 0, busbw = 0;
  std::string method;  // "mpi:MPI_Allreduce", or the backend's gradient all-reduce
};
std::vector<AllreduceSample> measure_allreduce(const std::vector<double>& sizes_bytes, int repetitions);
// The same over `backend`'s own data-parallel gradient all-reduce (NCCL on the GPU for cuda):
// per size, a one-layer graph whose f32 gradient is that many bytes, in one bucket, reduced
// with nothing around it (DataParallelExecutable::reduce_only, which waits for the device at
// its end), timed like measure_allreduce. Throws Unsupported where the backend has none.
std::vector<AllreduceSample> measure_backend_allreduce(Backend& backend, const std::vector<double>& sizes_bytes,
                                                       int repetitions);
// This process's rank, starting MPI if needed (0 without MPI).
int mpi_rank();
bool mpi_available();

}  // namespace paradnn
