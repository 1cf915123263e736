// Data-parallel training on the CUDA backend: each rank's gradients are averaged over the
// launch's ranks with NCCL (ncclAllReduce, ncclAvg: the sum scaled by 1/R in one pass) before
// the update, so every rank applies the gradient of the mean loss over the global batch.
//
// As on the CPU (platforms/cpu/backend/onednn_gradient_allreduce), gradients are grouped
// into buckets of about `bucket_bytes` in the order backward completes them (a blob's
// gradient is complete after the backward of its first user in graph order, Graph::first_user).
// Once the op that completes a bucket has enqueued its backward, an event is recorded on the
// compute stream; a dedicated, high-priority communication stream waits for that event and
// runs the bucket's all-reduces (one ncclGroupStart/End, one launch, in place on the
// gradient buffers) while the compute stream goes on with the rest of backward. Before the
// update the compute stream waits for the communication stream's last event. The host never
// waits inside a step: every dependency is a stream-side event. Without overlap, one bucket
// holds every gradient and is launched after the whole backward.
#pragma once
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "platforms/cuda/cuda_executable.hpp"
#include "platforms/cuda/cuda_nccl_comm.hpp"

namespace paradnn::cuda {

struct AllreduceOptions {
  bool overlap = true;
  size_t bucket_bytes = size_t{2} << 20;
  bool broadcast_weights = true;  // start every rank from rank 0's weights
};

class GradientAllreduce {
 public:
  // Installs its hooks into `exe` (training); `exe` must outlive this object, which removes them.
  GradientAllreduce(CudaExecutable& exe, const AllreduceOptions& o);
  ~GradientAllreduce();
  GradientAllreduce(const GradientAllreduce&) = delete;
  GradientAllreduce& operator=(const GradientAllreduce&) = delete;

  // Off: a step enqueues its compute alone (what each rank computes without the others).
  void set_enabled(bool on) { enabled_ = on; }
  // Enqueues every bucket's all-reduce once with no compute around it; the compute stream
  // waits for them. No host synchronization.
  void reduce_only();

  int ranks() const { return world_.ranks; }
  int buckets() const { return static_cast<int>(buckets_.size()); }
  double gradient_bytes() const { return bytes_; }
  std::string describe() const;  // "NCCL 2.28.3 ncclAllReduce(avg), 3 buckets on a comm stream"

 private:
  struct Bucket {
    std::vector<ParamBlob*> blobs;
    int launch_op = -1;  // op whose backward completes the bucket
    size_t bytes = 0;
    cudaEvent_t ready = nullptr;  // on the compute stream: the bucket's gradients are complete
  };
  void launch(Bucket& b);  // compute -> comm dependency, then the bucket's all-reduces
  void join();             // comm -> compute dependency: the update waits for every bucket

  CudaExecutable& exe_;
  const NcclWorld& world_;
  AllreduceOptions options_;
  cudaStream_t comm_stream_ = nullptr;
  cudaEvent_t done_ = nullptr;  // on the comm stream after the last launched bucket
  std::vector<Bucket> buckets_;
  std::vector<std::vector<size_t>> launches_at_;  // per op: buckets its backward completes
  double bytes_ = 0;
  bool enabled_ = true, pending_ = false;
};

}  // namespace paradnn::cuda
