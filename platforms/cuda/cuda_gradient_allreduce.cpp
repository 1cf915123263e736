#include "platforms/cuda/cuda_gradient_allreduce.hpp"

#include <algorithm>
#include <stdexcept>

namespace paradnn::cuda {

namespace {

ncclDataType_t nccl_type(Storage s) {
  switch (s) {
    case Storage::f32: return ncclFloat32;
    case Storage::f16: return ncclFloat16;
    case Storage::bf16: return ncclBfloat16;
    case Storage::s32: break;
  }
  throw std::invalid_argument("no NCCL reduction for s32 gradients");
}

}  // namespace

GradientAllreduce::GradientAllreduce(CudaExecutable& exe, const AllreduceOptions& o)
    : exe_(exe), world_(nccl_world()), options_(o) {
  const Graph& g = exe.graph();
  cudaStream_t compute = exe.context().stream;
  int lowest = 0, highest = 0;
  PARADNN_CUDA(cudaDeviceGetStreamPriorityRange(&lowest, &highest));
  // Higher priority than compute: a ready bucket's kernel is scheduled ahead of backward's.
  PARADNN_CUDA(cudaStreamCreateWithPriority(&comm_stream_, cudaStreamNonBlocking, highest));
  PARADNN_CUDA(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));

  // Blobs in the order backward completes them (stable: graph order within one op).
  struct Ready {
    ParamBlob* blob;
    int op;
  };
  std::vector<Ready> order;
  for (const auto& b : exe.params().blobs()) {
    if (!b->grad.get()) continue;
    order.push_back({b.get(), g.first_user(b->op)});
    bytes_ += static_cast<double>(b->grad.bytes());
  }
  if (order.empty()) throw std::invalid_argument("data-parallel training of a graph without trainable parameters");
  std::stable_sort(order.begin(), order.end(), [](const Ready& a, const Ready& b) { return a.op > b.op; });

  if (o.broadcast_weights) {  // rank 0's master weights everywhere, then each compute copy rebuilt
    PARADNN_CUDA(cudaStreamSynchronize(compute));
    PARADNN_NCCL(ncclGroupStart());
    for (const Ready& r : order)
      PARADNN_NCCL(ncclBroadcast(r.blob->master.get(), r.blob->master.get(), r.blob->n, ncclFloat32, 0, world_.comm,
                                 comm_stream_));
    PARADNN_NCCL(ncclGroupEnd());
    PARADNN_CUDA(cudaStreamSynchronize(comm_stream_));
    for (const Ready& r : order) exe.params().sync_copy(*r.blob, compute);
    PARADNN_CUDA(cudaStreamSynchronize(compute));
  }

  Bucket cur;
  auto close = [&] {
    if (cur.blobs.empty()) return;
    buckets_.push_back(std::move(cur));
    cur = Bucket{};
  };
  for (const Ready& r : order) {
    cur.blobs.push_back(r.blob);
    cur.bytes += r.blob->grad.bytes();
    cur.launch_op = r.op;
    if (o.overlap && cur.bytes >= o.bucket_bytes) close();
  }
  close();
  launches_at_.resize(g.ops.size());
  for (size_t k = 0; k < buckets_.size(); ++k) {
    PARADNN_CUDA(cudaEventCreateWithFlags(&buckets_[k].ready, cudaEventDisableTiming));
    if (o.overlap) launches_at_.at(size_t(buckets_[k].launch_op)).push_back(k);
  }

  CudaExecutable::StepHooks h;
  h.after_backward = [this](int op) {
    if (!enabled_ || !options_.overlap) return;
    for (size_t k : launches_at_[size_t(op)]) launch(buckets_[k]);
  };
  h.before_update = [this] {
    if (!enabled_) return;
    if (!options_.overlap) launch(buckets_.front());  // one bucket, after the whole backward
    join();
  };
  exe.set_hooks(std::move(h));
}

GradientAllreduce::~GradientAllreduce() {
  exe_.set_hooks({});
  if (comm_stream_) cudaStreamSynchronize(comm_stream_);
  for (Bucket& b : buckets_)
    if (b.ready) cudaEventDestroy(b.ready);
  if (done_) cudaEventDestroy(done_);
  if (comm_stream_) cudaStreamDestroy(comm_stream_);
}

void GradientAllreduce::launch(Bucket& b) {
  PARADNN_CUDA(cudaEventRecord(b.ready, exe_.context().stream));
  PARADNN_CUDA(cudaStreamWaitEvent(comm_stream_, b.ready, 0));
  PARADNN_NCCL(ncclGroupStart());  // one launch for the bucket's buffers
  for (ParamBlob* p : b.blobs)
    PARADNN_NCCL(ncclAllReduce(p->grad.get(), p->grad.get(), p->n, nccl_type(p->grad_type), ncclAvg, world_.comm,
                               comm_stream_));
  PARADNN_NCCL(ncclGroupEnd());
  pending_ = true;
}

void GradientAllreduce::join() {
  if (!pending_) return;
  PARADNN_CUDA(cudaEventRecord(done_, comm_stream_));
  PARADNN_CUDA(cudaStreamWaitEvent(exe_.context().stream, done_, 0));
  pending_ = false;
}

void GradientAllreduce::reduce_only() {
  for (Bucket& b : buckets_) launch(b);
  join();
}

std::string GradientAllreduce::describe() const {
  return world_.version + " ncclAllReduce(avg) over " + std::to_string(world_.ranks) + " rank(s), " +
         std::to_string(buckets_.size()) + " bucket(s) on a " + (options_.overlap ? "comm stream overlapping backward" : "comm stream after backward");
}

}  // namespace paradnn::cuda
