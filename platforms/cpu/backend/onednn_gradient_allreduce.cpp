#include "platforms/cpu/backend/onednn_gradient_allreduce.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string>

namespace paradnn::cpu {

namespace {

float* data(const Weight& w) { return static_cast<float*>(w.grad.get_data_handle()); }
size_t count(const Weight& w) { return w.grad.get_desc().get_size() / sizeof(float); }

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(std::string(what) + " failed (MPI error " + std::to_string(rc) + ")");
}

int mpi_count(size_t n, const std::string& what) {
  if (n > static_cast<size_t>(INT_MAX)) throw std::runtime_error(what + ": more than 2^31 elements for one MPI call");
  return static_cast<int>(n);
}

void scale(float* p, size_t n, float s) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) p[i] *= s;
}

// The weights' gradients one after another into `dst`, and back scaled by `s` from `src`.
void pack(const std::vector<Weight*>& weights, float* dst) {
  for (const Weight* w : weights) {
    std::memcpy(dst, data(*w), count(*w) * sizeof(float));
    dst += count(*w);
  }
}

void unpack_scaled(const std::vector<Weight*>& weights, const float* src, float s) {
  for (const Weight* w : weights) {
    float* dst = data(*w);
    const size_t n = count(*w);
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; ++i) dst[i] = src[i] * s;
    src += n;
  }
}

}  // namespace

GradientAllreduce::GradientAllreduce(Net& net, const AllreduceOptions& o) : net_(net), options_(o) {
  if (!net.training()) throw std::logic_error("gradient all-reduce needs a training net");
  check(MPI_Comm_size(o.comm, &ranks_), "MPI_Comm_size");
  const Graph& g = net.graph();
  Lowering& ctx = net.lowering();  // the calls go into the net's backward pass

  // When each weight's gradient is complete: after the backward of its first user in graph
  // order (backward runs ops in reverse), which for an untied weight is its owner.
  struct Ready {
    Weight* w;
    int op;
  };
  std::vector<Ready> order;
  for (const auto& w : net.params().all()) {
    if (!w->grad) continue;
    order.push_back({w.get(), g.first_user(w->op)});
    bytes_ += static_cast<double>(w->grad.get_desc().get_size());
  }
  std::stable_sort(order.begin(), order.end(), [](const Ready& a, const Ready& b) { return a.op > b.op; });

  if (o.broadcast_weights) {
    for (const Ready& r : order) {
      const Weight& w = *r.w;
      for (const dnnl::memory& m : {w.master, w.w}) {
        if (!m) continue;
        check(MPI_Bcast(m.get_data_handle(), mpi_count(m.get_desc().get_size(), w.name), MPI_BYTE, 0, o.comm),
              "MPI_Bcast");
        if (!w.separate_master()) break;
      }
    }
  }

  if (!o.overlap) {
    size_t total = 0;
    for (const Ready& r : order) total += count(*r.w);
    all_.resize(total);
    Bucket b;
    for (const Ready& r : order) b.weights.push_back(r.w);
    b.elements = total;
    buckets_.push_back(std::move(b));
    ctx.add_kernel(0, Phase::comm, "mpi:allreduce(blocking)", [this] {
      if (enabled_) blocking_all();
    });
    return;
  }

  Bucket cur;
  size_t cur_bytes = 0;
  auto close = [&] {
    if (cur.weights.empty()) return;
    if (cur.weights.size() > 1) cur.packed.resize(cur.elements);
    buckets_.push_back(std::move(cur));
    cur = Bucket{};
    cur_bytes = 0;
  };
  for (const Ready& r : order) {
    cur.weights.push_back(r.w);
    cur.elements += count(*r.w);
    cur.launch_op = r.op;
    cur_bytes += count(*r.w) * sizeof(float);
    if (cur_bytes >= o.bucket_bytes) close();
  }
  close();
  requests_.assign(buckets_.size(), MPI_REQUEST_NULL);

  // Launches after the op that completes each bucket; progress after every later backward
  // op that computes (a launch op progresses too); the wait at the very end of backward.
  int first_launch = -1;
  for (size_t k = 0; k < buckets_.size(); ++k) {
    ctx.add_kernel(buckets_[k].launch_op, Phase::comm, "mpi:iallreduce", [this, k] {
      if (enabled_) start(buckets_[k]);
    });
    first_launch = std::max(first_launch, buckets_[k].launch_op);
  }
  for (int j = first_launch - 1; j > 0; --j) {
    const bool launches = std::any_of(buckets_.begin(), buckets_.end(), [j](const Bucket& b) { return b.launch_op == j; });
    if (!launches && ctx.needs_grad(j) && !ctx.fusion().fused_away(j)) ctx.add_kernel(j, Phase::comm, "mpi:test", [this] {
      if (enabled_) progress();
    });
  }
  ctx.add_kernel(0, Phase::comm, "mpi:wait", [this] {
    if (enabled_) finish_all();
  });
}

void GradientAllreduce::start(Bucket& b) {
  void* buf = MPI_IN_PLACE;
  float* target = b.packed.empty() ? data(*b.weights.front()) : b.packed.data();
  if (!b.packed.empty()) pack(b.weights, b.packed.data());
  check(MPI_Iallreduce(buf, target, mpi_count(b.elements, b.weights.front()->name), MPI_FLOAT, MPI_SUM, options_.comm,
                       &b.request),
        "MPI_Iallreduce");
  progress();
}

void GradientAllreduce::progress() {
  size_t n = 0;
  for (const Bucket& b : buckets_)
    if (b.request != MPI_REQUEST_NULL) requests_[n++] = b.request;
  if (n == 0) return;
  int done = 0;
  check(MPI_Testall(static_cast<int>(n), requests_.data(), &done, MPI_STATUSES_IGNORE), "MPI_Testall");
  // MPI_Testall frees the requests only when all are complete (else it modifies none).
  if (done)
    for (Bucket& b : buckets_) b.request = MPI_REQUEST_NULL;
}

void GradientAllreduce::finish_all() {
  const auto t0 = std::chrono::steady_clock::now();
  for (Bucket& b : buckets_)
    if (b.request != MPI_REQUEST_NULL) check(MPI_Wait(&b.request, MPI_STATUS_IGNORE), "MPI_Wait");
  last_wait_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const float s = 1.0f / static_cast<float>(ranks_);
  for (const Bucket& b : buckets_) {
    if (b.packed.empty()) {
      scale(data(*b.weights.front()), b.elements, s);  // a one-weight bucket reduces in place
    } else {
      unpack_scaled(b.weights, b.packed.data(), s);
    }
  }
}

void GradientAllreduce::blocking_all() {
  const Bucket& b = buckets_.front();
  pack(b.weights, all_.data());
  const auto t0 = std::chrono::steady_clock::now();
  check(MPI_Allreduce(MPI_IN_PLACE, all_.data(), mpi_count(all_.size(), "gradients"), MPI_FLOAT, MPI_SUM, options_.comm),
        "MPI_Allreduce");
  last_wait_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  unpack_scaled(b.weights, all_.data(), 1.0f / static_cast<float>(ranks_));
}

void GradientAllreduce::reduce_only() {
  if (!options_.overlap) {
    blocking_all();
    return;
  }
  for (Bucket& b : buckets_) start(b);
  finish_all();
}

}  // namespace paradnn::cpu
