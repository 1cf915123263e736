#include "platforms/cuda/cuda_data_parallel.hpp"

#include "platforms/cuda/cuda_executable.hpp"
#include "platforms/cuda/cuda_gradient_allreduce.hpp"

namespace paradnn::cuda {

namespace {

AllreduceOptions allreduce_options(const DataParallelOptions& o) {
  AllreduceOptions a;
  a.overlap = o.overlap;
  a.bucket_bytes = static_cast<size_t>(o.bucket_bytes);
  return a;
}

class NcclDataParallel final : public CudaDataParallelExecutable {
 public:
  NcclDataParallel(const Graph& g, const DataParallelOptions& o)
      : world_(nccl_world()), exe_(g, Mode::train), reduce_(exe_, allreduce_options(o)) {
    PARADNN_CUDA(cudaEventCreate(&start_));
    PARADNN_CUDA(cudaEventCreate(&stop_));
  }
  ~NcclDataParallel() override {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }

  Clock clock() const override { return Clock::device; }
  void step() override { (void)step_seconds(); }
  double step_seconds() override {
    reduce_.set_enabled(true);
    return bracketed([&] { exe_.step(); });
  }
  void local_step() override {
    reduce_.set_enabled(false);
    bracketed([&] { exe_.step(); });
  }
  void reduce_only() override {
    bracketed([&] { reduce_.reduce_only(); });
  }
  int buckets() const override { return reduce_.buckets(); }
  double gradient_bytes() const override { return reduce_.gradient_bytes(); }
  double loss() const override { return exe_.loss(); }
  std::string kernels() const override { return exe_.kernels() + "; " + reduce_.describe(); }
  CudaExecutable& executable() override { return exe_; }

 private:
  // Events around the enqueued work on the compute stream (which the comm stream joins
  // before the update); the host waits once, for the stop event, at the boundary.
  template <typename F>
  double bracketed(F&& work) {
    cudaStream_t s = exe_.context().stream;
    PARADNN_CUDA(cudaEventRecord(start_, s));
    work();
    PARADNN_CUDA(cudaEventRecord(stop_, s));
    PARADNN_CUDA(cudaEventSynchronize(stop_));
    float ms = 0;
    PARADNN_CUDA(cudaEventElapsedTime(&ms, start_, stop_));
    return ms * 1e-3;
  }

  const NcclWorld& world_;  // first: binds this rank's device before anything is allocated
  CudaExecutable exe_;
  GradientAllreduce reduce_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

}  // namespace

std::unique_ptr<CudaDataParallelExecutable> make_cuda_data_parallel(const Graph& g, const DataParallelOptions& o) {
  return std::make_unique<NcclDataParallel>(g, o);
}

}  // namespace paradnn::cuda
