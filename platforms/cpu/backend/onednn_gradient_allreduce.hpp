// Data-parallel training on the CPU backend: the gradients of every rank's step are summed
// over an MPI communicator and scaled by 1/R before the update, so each rank applies the
// gradient of the mean loss over the global batch.
//
// Gradients are grouped into buckets of about `bucket_bytes`, in the order backward
// completes them (Graph::gradients_in_backward_order; a tied weight is complete after its
// first user in graph order). Each bucket's MPI_Iallreduce is a kernel call appended to the
// backward calls of the op that completes the bucket's last gradient, so it starts as soon
// as backward has produced it and runs while the rest of backward computes; a call after
// every later op's backward lets Open MPI progress it (MPI_Testall), and one call at the end
// of backward waits for all buckets and scales them. The update then runs unchanged.
// Without overlap, one blocking MPI_Allreduce of all gradients runs after backward.
//
// A bucket of one gradient is reduced in place; a bucket of several is packed into a buffer
// of its own (allocated here, once) and unpacked after the wait. The calls are added to the
// Net with Lowering::add_kernel in Phase::comm, so --per-op profiles show them.
#pragma once
#include <mpi.h>

#include <cstddef>
#include <vector>

#include "platforms/cpu/backend/onednn_net.hpp"

namespace paradnn::cpu {

struct AllreduceOptions {
  bool overlap = true;
  size_t bucket_bytes = size_t{2} << 20;  // about 2 MiB, as PyTorch DDP's default 25 MB is for GPUs
  MPI_Comm comm = MPI_COMM_WORLD;
  bool broadcast_weights = true;  // start every rank from rank 0's weights
};

class GradientAllreduce {
 public:
  // Appends the communication calls to `net` (built and finalized, training mode). The net
  // must not be stepped after this object is destroyed.
  GradientAllreduce(Net& net, const AllreduceOptions& o);
  GradientAllreduce(const GradientAllreduce&) = delete;
  GradientAllreduce& operator=(const GradientAllreduce&) = delete;

  // Reduces every bucket once with no compute around it (start all, wait all): the
  // communication a step would cost if nothing overlapped it. Gradients are left scaled.
  void reduce_only();

  // Off: the net's step runs its compute alone (the communication calls do nothing), to
  // time what each rank computes without the others.
  void set_enabled(bool on) { enabled_ = on; }

  int ranks() const { return ranks_; }
  size_t buckets() const { return buckets_.size(); }
  double gradient_bytes() const { return bytes_; }
  // Seconds the last step spent waiting for all-reduce after its backward compute ended.
  double last_wait_s() const { return last_wait_s_; }

 private:
  struct Bucket {
    std::vector<Weight*> weights;
    std::vector<float> packed;  // empty: one weight, reduced in place
    int launch_op = -1;         // op whose backward completes the bucket
    size_t elements = 0;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  void start(Bucket& b);
  void finish_all();  // waits, unpacks, scales by 1/R
  void progress();
  void blocking_all();

  Net& net_;
  AllreduceOptions options_;
  int ranks_ = 1;
  std::vector<Bucket> buckets_;
  std::vector<MPI_Request> requests_;
  std::vector<float> all_;  // no-overlap: every gradient packed
  double bytes_ = 0;
  double last_wait_s_ = 0;
  bool enabled_ = true;
};

}  // namespace paradnn::cpu
