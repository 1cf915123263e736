// Data-parallel training on GPUs with NCCL, run by CTest under `mpirun -np 1` and `-np 2`
// (one GPU per rank). Every rank builds the same graph with the same seeded data, so after one
// step the gradients averaged over the ranks (ncclAvg) and the weights updated with them must
// equal what one GPU computes alone for that graph: a sum without the 1/R, a bucket reduced
// twice or never, or an update that does not wait for the communication stream would show.
// Also the NCCL all-reduce probe behind `paradnn roofline --allreduce --backend cuda`.
// Every test skips with CUDA's own error text where no device is, and says so where this
// build has no NCCL or the launch has more ranks than this node has GPUs. When every test
// skipped, the program exits 77 (CTest: skipped).
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>

#include "paradnn/error.hpp"
#include "paradnn/graph_builder.hpp"
#include "platforms/cuda/cuda_backend.hpp"
#include "platforms/cuda/cuda_data_parallel.hpp"
#include "platforms/cuda/cuda_executable.hpp"
#include "platforms/model/scaling_model.hpp"
#include "runners/drivers/data_parallel.hpp"
#include "tests/test_helpers.hpp"

namespace paradnn {
namespace {

// Skips where the build has no NCCL, or this node has fewer GPUs than the launch has ranks.
#ifdef PARADNN_HAVE_NCCL
#define SKIP_WITHOUT_NCCL_DEVICES()                                                                          \
  do {                                                                                                       \
    int devices = 0, ranks = 1;                                                                              \
    if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;                                            \
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);                                                                   \
    if (devices < ranks)                                                                                     \
      GTEST_SKIP() << ranks << " ranks need " << ranks << " GPUs (one per rank); this node has " << devices; \
  } while (0)
#else
#define SKIP_WITHOUT_NCCL_DEVICES() \
  GTEST_SKIP() << "this build has no NCCL (cuda_data_parallel_unavailable): nothing to run"
#endif

Graph fc(const std::string& optimizer) {
  GraphBuilder b("fc", "dp", 8, DType::f32, parse_optimizer(optimizer));
  int x = b.input({8, 32});
  x = b.relu(b.dense(x, 64, "fc1"), "relu1");
  x = b.relu(b.dense(x, 64, "fc2"), "relu2");
  b.softmax_xent(b.dense(x, 10, "out"));
  return b.finish();
}

class CudaNcclStep : public ::testing::TestWithParam<bool> {};

TEST_P(CudaNcclStep, AveragedGradientsAndWeightsEqualTheSingleGpuStep) {
  auto backend = cuda::make_cuda_backend();
  SKIP_WITHOUT_GPU(*backend);
  SKIP_WITHOUT_NCCL_DEVICES();
  const Graph g = fc("momentum");
  DataParallelOptions o;
  o.overlap = GetParam();
  o.bucket_bytes = 4096;  // several buckets even for this small model
  auto single = backend->prepare(g, Mode::train, Settings{});
  auto dp = backend->prepare_data_parallel(g, Settings{}, o);
  auto* cdp = dynamic_cast<cuda::CudaDataParallelExecutable*>(dp.get());
  auto* one = dynamic_cast<cuda::CudaExecutable*>(single.get());
  ASSERT_NE(cdp, nullptr);
  ASSERT_NE(one, nullptr);
  if (o.overlap) {
    EXPECT_GT(dp->buckets(), 2);
  } else {
    EXPECT_EQ(dp->buckets(), 1);
  }
  EXPECT_GT(dp->gradient_bytes(), 0);
  EXPECT_NE(dp->kernels().find("ncclAllReduce"), std::string::npos) << dp->kernels();
  for (int s = 0; s < 2; ++s) {  // the second step reads weights the first all-reduced update wrote
    single->step_seconds();
    dp->step();
  }
  for (const std::string& name : param_names(g)) {
    const auto want = one->param_grad(name), got = cdp->executable().param_grad(name);
    ASSERT_EQ(want.size(), got.size()) << name;
    EXPECT_LT(max_rel_diff(got, want), 1e-5) << name;
    EXPECT_LT(max_rel_diff(cdp->executable().param(name), one->param(name)), 1e-5) << name;
  }
  EXPECT_NEAR(dp->loss(), single->loss(), 1e-5 * std::fabs(single->loss()));
  // The step without communication and the communication alone run too.
  dp->local_step();
  dp->reduce_only();
  EXPECT_GT(dp->step_seconds(), 0);
}

INSTANTIATE_TEST_SUITE_P(Overlap, CudaNcclStep, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "overlapped" : "blocking"; });

// `paradnn roofline --allreduce --backend cuda`: NCCL all-reduce over message sizes.
TEST(CudaNcclAllreduce, ProbeReportsBusBandwidthOverSizes) {
  auto backend = cuda::make_cuda_backend();
  SKIP_WITHOUT_GPU(*backend);
  SKIP_WITHOUT_NCCL_DEVICES();
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const std::vector<double> sizes = {4096, 1 << 20};
  const std::vector<AllreduceSample> samples = measure_backend_allreduce(*backend, sizes, 2);
  ASSERT_EQ(samples.size(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    const AllreduceSample& a = samples[i];
    EXPECT_EQ(a.ranks, ranks);
    EXPECT_DOUBLE_EQ(a.bytes, sizes[i]);  // the probe graph's gradient is exactly the message
    EXPECT_GT(a.seconds, 0);
    EXPECT_NEAR(a.algbw, a.bytes / a.seconds, 1e-9 * a.algbw);
    EXPECT_NEAR(a.busbw, model::bus_bandwidth(a.algbw, ranks), 1e-9 * a.algbw);
    EXPECT_NE(a.method.find("NCCL"), std::string::npos) << a.method;
  }
}

}  // namespace
}  // namespace paradnn

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  const ::testing::UnitTest& u = *::testing::UnitTest::GetInstance();
  if (rc == 0 && u.test_to_run_count() > 0 && u.skipped_test_count() == u.test_to_run_count()) rc = 77;
  int worst = rc;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
