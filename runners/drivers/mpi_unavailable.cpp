// Data-parallel entry points where paradnn was built without MPI: each says how to get it.
#include "paradnn/error.hpp"
#include "runners/drivers/data_parallel.hpp"

namespace paradnn {

namespace {
[[noreturn]] void no_mpi() {
  throw InputError("this paradnn was built without MPI: install libopenmpi-dev and openmpi-bin, re-run cmake, and "
                   "launch with mpirun");
}
}  // namespace

bool mpi_available() { return false; }
int mpi_rank() { return 0; }
SweepSummary run_data_parallel(const SweepOptions&, const DataParallelRun&) { no_mpi(); }
std::vector<AllreduceSample> measure_allreduce(const std::vector<double>&, int) { no_mpi(); }
std::vector<AllreduceSample> measure_backend_allreduce(Backend&, const std::vector<double>&, int) { no_mpi(); }

}  // namespace paradnn
