// Data-parallel training under mpirun: R ranks, each on its slice of a global batch, with
// their gradients all-reduced (summed, scaled by 1/R), must give every rank the gradients a
// single process computes for the whole batch (strong scaling). An FC model, because batch
// norm's statistics are per rank and would differ. Run by CTest as `mpirun -np 2`.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>

#include "models/catalog.hpp"
#include "paradnn/config.hpp"
#include "paradnn/grid.hpp"
#include "platforms/cpu/backend/onednn_executable.hpp"
#include "platforms/cpu/backend/onednn_gradient_allreduce.hpp"
#include "tests/test_helpers.hpp"

namespace paradnn {
namespace {

int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int ranks() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

Graph fc(int64_t batch, const std::string& optimizer) {
  const std::string yaml = "name: t\nmodes: [train]\ndtypes: [f32]\noptimizer: " + optimizer +
                           "\nsweeps:\n  - family: fc\n    axes: {layers: [3], nodes: [64], input: [32], output: [10], "
                           "batch: [" + std::to_string(batch) + "]}\n";
  const auto grid = expand(parse_config(yaml, "t.yaml", models::catalog()), models::catalog());
  return build_graph(grid.at(0).point, models::catalog());
}

// This rank's slice of the whole batch: inputs and labels as the whole-batch run made them.
void load_slice(cpu::CpuExecutable& part, cpu::CpuExecutable& whole, int64_t rows) {
  const std::vector<float> x = whole.output(0);
  const size_t width = x.size() / static_cast<size_t>(rows * ranks());
  const auto from = x.begin() + static_cast<std::ptrdiff_t>(rank() * rows * static_cast<int64_t>(width));
  cpu::write_plain(part.net().engine(), part.net().stream(), part.net().output(0),
                   std::vector<float>(from, from + static_cast<std::ptrdiff_t>(rows * static_cast<int64_t>(width))));
  const auto& labels = whole.labels();
  // The loss kernel holds a pointer into the labels: overwrite them in place.
  std::copy_n(labels.begin() + rank() * rows, rows, part.net().labels.begin());
}

class StrongScaling : public ::testing::TestWithParam<bool> {};

TEST_P(StrongScaling, AllReducedSliceGradientsEqualWholeBatchGradients) {
  const bool overlap = GetParam();
  const int64_t rows = 8;
  const Graph whole_g = fc(rows * ranks(), "sgd"), part_g = fc(rows, "sgd");
  cpu::CpuExecutable whole(whole_g, Mode::train), part(part_g, Mode::train), alone(part_g, Mode::train);
  load_slice(part, whole, rows);
  load_slice(alone, whole, rows);
  cpu::AllreduceOptions o;
  o.overlap = overlap;
  o.bucket_bytes = 4096;  // several buckets even for this small model
  cpu::GradientAllreduce reduce(part.net(), o);
  if (overlap) {
    EXPECT_GT(reduce.buckets(), 2u);
  }
  whole.step();
  part.step();
  alone.step();
  for (const std::string& name : param_names(whole_g)) {
    const auto want = whole.param_grad(name), got = part.param_grad(name);
    ASSERT_EQ(want.size(), got.size()) << name;
    EXPECT_LT(max_rel_diff(got, want), 1e-5) << name << " on rank " << rank();
    // Not vacuous: this rank's own gradient is not the whole batch's.
    if (ranks() > 1) {
      EXPECT_GT(max_rel_diff(alone.param_grad(name), want), 1e-3) << name;
    }
  }
  // Every rank applied the same update from the same (broadcast) start.
  for (const std::string& name : param_names(whole_g))
    EXPECT_LT(max_rel_diff(part.param(name), whole.param(name)), 1e-5) << name;
}

INSTANTIATE_TEST_SUITE_P(Overlap, StrongScaling, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "overlapped" : "blocking"; });

}  // namespace
}  // namespace paradnn

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  int worst = rc;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
