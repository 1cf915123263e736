#include "platforms/cuda/cuda_executable.hpp"

#include <algorithm>
#include <limits>
#include <set>

namespace paradnn::cuda {

namespace {

bool is_data(OpKind k) { return k == OpKind::input || k == OpKind::token_input; }
bool is_loss(OpKind k) { return k == OpKind::softmax_xent || k == OpKind::focal_loss; }

Storage output_type(const Op& op) {
  if (op.kind == OpKind::token_input) return Storage::s32;
  if (is_loss(op.kind)) return Storage::f32;  // the scalar loss
  return storage_type(op.dtype);
}

// Whether op i is the last reader of op p's output: backward runs in reverse, so it is
// the first to write p's gradient.
bool last_consumer(const Graph& g, size_t i, int p) {
  for (size_t j = i + 1; j < g.ops.size(); ++j)
    if (std::find(g.ops[j].inputs.begin(), g.ops[j].inputs.end(), p) != g.ops[j].inputs.end()) return false;
  return true;
}

// Token ids must index every table they feed.
int32_t vocabulary_of(const Graph& g, int token_op) {
  int64_t v = std::numeric_limits<int32_t>::max();
  for (const Op& op : g.ops)
    if (op.kind == OpKind::embedding && std::find(op.inputs.begin(), op.inputs.end(), token_op) != op.inputs.end())
      v = std::min(v, op.classes);
  return static_cast<int32_t>(v);
}

}  // namespace

struct CudaExecutable::Phase {
  cudaEvent_t begin = nullptr, end = nullptr;
  double seconds = 0;
  bool used = false;
};

CudaExecutable::CudaExecutable(const Graph& g, Mode m)
    : graph_(g), mode_(m), ctx_(std::make_unique<Context>()), params_(m == Mode::train, g.optimizer) {
  rule_.optimizer = g.optimizer;
  const bool train = m == Mode::train;
  const size_t n = g.ops.size();
  outputs_.resize(n);
  grads_.resize(n);
  y_.resize(n);
  dy_.resize(n);
  cudaStream_t s = ctx_->stream;

  for (size_t i = 0; i < n; ++i) {
    const Op& op = g.ops[i];
    if (op.kind == OpKind::reshape) {  // a view of its input, and where it can be, of the input's gradient
      const size_t p = size_t(op.inputs.at(0));
      y_[i] = Tensor{y_[p].data, op.out, y_[p].type};
      if (!train) continue;
      if (dy_[p].data && last_consumer(g, i, op.inputs[0])) {
        dy_[i] = Tensor{dy_[p].data, op.out, y_[p].type};
        continue;
      }
      grads_[i] = DeviceBuffer(y_[i].count() * size_of(y_[i].type));
      PARADNN_CUDA(cudaMemsetAsync(grads_[i].get(), 0, grads_[i].bytes(), s));
      dy_[i] = Tensor{grads_[i].get(), op.out, y_[i].type};
      continue;
    }
    const Storage t = output_type(op);
    y_[i] = Tensor{nullptr, op.out, t};
    outputs_[i] = DeviceBuffer(y_[i].count() * size_of(t));
    y_[i].data = outputs_[i].get();
    if (train && !is_data(op.kind) && !is_loss(op.kind)) {
      grads_[i] = DeviceBuffer(outputs_[i].bytes());
      PARADNN_CUDA(cudaMemsetAsync(grads_[i].get(), 0, grads_[i].bytes(), s));  // stays 0 where nothing consumes it
      dy_[i] = Tensor{grads_[i].get(), op.out, t};
    }
    // Synthetic data, made here once: nothing of it is timed.
    if (op.kind == OpKind::input) fill_uniform(t, y_[i].data, y_[i].count(), -1.0f, 1.0f, 0xda7a + i, s);
    if (op.kind == OpKind::token_input)
      fill_ints(static_cast<int32_t*>(y_[i].data), y_[i].count(), vocabulary_of(g, static_cast<int>(i)), 0x70c5 + i, s);
  }

  // Which gradient each op writes for each input, and whether it adds to one already
  // written: backward runs in reverse, so the last consumer of a tensor writes first.
  std::vector<std::vector<GradOut>> dx(n);
  std::vector<bool> written(n, false);
  for (size_t i = n; i-- > 0;) {
    const Op& op = g.ops[i];
    dx[i].resize(op.inputs.size());
    for (size_t j = 0; j < op.inputs.size(); ++j) {
      const int p = op.inputs[j];
      if (!train || is_data(g.ops[size_t(p)].kind) || op.kind == OpKind::embedding) continue;
      dx[i][j] = GradOut{dy_[size_t(p)], written[size_t(p)] ? 1.0f : 0.0f};
      written[size_t(p)] = true;
    }
  }

  ops_.resize(n);
  size_t workspace = 0;
  for (size_t i = 0; i < n; ++i) {
    const Op& op = g.ops[i];
    if (is_data(op.kind)) continue;
    OpArgs a{graph_, static_cast<int>(i), graph_.ops[i], m, *ctx_, params_, {}, dx[i], y_[i], dy_[i]};
    for (int p : op.inputs) a.x.push_back(y_[size_t(p)]);
    ops_[i] = make_op(a);
    workspace = std::max(workspace, ops_[i]->workspace_bytes());
  }
  ctx_->reserve_workspace(workspace);  // sized once for the point, shared by every op
  PARADNN_CUDA(cudaEventCreate(&start_));
  PARADNN_CUDA(cudaEventCreate(&stop_));
  // One untimed step: lazy library initialization happens here, and a configuration
  // cuDNN refuses at run time fails the preparation rather than the measurement.
  step();
  PARADNN_CUDA(cudaStreamSynchronize(s));
}

CudaExecutable::~CudaExecutable() {
  if (ctx_) cudaStreamSynchronize(ctx_->stream);
  if (start_) cudaEventDestroy(start_);
  if (stop_) cudaEventDestroy(stop_);
}

void CudaExecutable::run(std::vector<Phase>* record) {
  const size_t n = ops_.size();
  cudaStream_t s = ctx_->stream;
  auto timed = [&](size_t op, int phase, auto&& work) {
    if (!record) return work();
    Phase& p = (*record)[op * 3 + size_t(phase)];
    p.used = true;
    PARADNN_CUDA(cudaEventRecord(p.begin, s));
    work();
    PARADNN_CUDA(cudaEventRecord(p.end, s));
  };
  for (size_t i = 0; i < n; ++i)
    if (ops_[i]) timed(i, 0, [&] { ops_[i]->forward(); });
  if (mode_ != Mode::train) return;
  for (size_t i = n; i-- > 0;) {
    if (ops_[i]) timed(i, 1, [&] { ops_[i]->backward(); });
    if (hooks_.after_backward) hooks_.after_backward(static_cast<int>(i));
  }
  if (hooks_.before_update) hooks_.before_update();
  if (!record) return params_.update(rule_, -1, s);
  for (size_t i = 0; i < n; ++i)
    if (!graph_.ops[i].params.empty()) timed(i, 2, [&] { params_.update(rule_, static_cast<int>(i), s); });
}

void CudaExecutable::step() { run(nullptr); }

double CudaExecutable::step_seconds() {
  PARADNN_CUDA(cudaEventRecord(start_, ctx_->stream));
  run(nullptr);
  PARADNN_CUDA(cudaEventRecord(stop_, ctx_->stream));
  PARADNN_CUDA(cudaEventSynchronize(stop_));
  float ms = 0;
  PARADNN_CUDA(cudaEventElapsedTime(&ms, start_, stop_));
  return ms * 1e-3;
}

double CudaExecutable::loss() const {
  for (const auto& op : ops_)
    if (op)
      if (auto l = op->loss()) return *l;
  return std::numeric_limits<double>::quiet_NaN();
}

std::vector<OpTime> CudaExecutable::profile(int iterations) {
  std::vector<Phase> phases(ops_.size() * 3);
  for (Phase& p : phases) {
    PARADNN_CUDA(cudaEventCreate(&p.begin));
    PARADNN_CUDA(cudaEventCreate(&p.end));
  }
  for (int it = 0; it < iterations; ++it) {
    run(&phases);
    PARADNN_CUDA(cudaStreamSynchronize(ctx_->stream));
    for (Phase& p : phases) {
      if (!p.used) continue;
      float ms = 0;
      PARADNN_CUDA(cudaEventElapsedTime(&ms, p.begin, p.end));
      p.seconds += ms * 1e-3;
    }
  }
  std::vector<OpTime> out;
  static const paradnn::Phase names[3] = {paradnn::Phase::fwd, paradnn::Phase::bwd, paradnn::Phase::update};
  for (size_t i = 0; i < ops_.size(); ++i) {
    const Op& op = graph_.ops[i];
    const OpCost& c = op.cost;
    const double flops[3] = {c.fwd_flops, c.bwd_data_flops + c.bwd_weight_flops, c.update_flops};
    const double bytes[3] = {c.fwd_bytes, c.bwd_bytes, c.update_bytes};
    for (int ph = 0; ph < 3; ++ph) {
      const Phase& p = phases[i * 3 + size_t(ph)];
      if (!p.used) continue;
      out.push_back(OpTime{static_cast<int>(i), op.name, names[ph], p.seconds / std::max(iterations, 1), flops[ph], bytes[ph],
                           ph == 2 ? "optimizer kernel" : ops_[i]->impl(), ""});
    }
  }
  for (Phase& p : phases) {
    cudaEventDestroy(p.begin);
    cudaEventDestroy(p.end);
  }
  return out;
}

std::string CudaExecutable::kernels() const {
  std::set<std::string> seen;
  std::string out;
  for (const auto& op : ops_)
    if (op && seen.insert(op->impl()).second) out += (out.empty() ? "" : "; ") + op->impl();
  return out;
}

std::vector<float> CudaExecutable::to_host(Storage t, const void* p, size_t n) const {
  DeviceBuffer f32(n * 4);
  convert(t, p, Storage::f32, f32.get(), n, ctx_->stream);
  std::vector<float> host(n);
  PARADNN_CUDA(cudaMemcpyAsync(host.data(), f32.get(), n * 4, cudaMemcpyDeviceToHost, ctx_->stream));
  PARADNN_CUDA(cudaStreamSynchronize(ctx_->stream));
  return host;
}

std::vector<float> CudaExecutable::output(int op) const {
  const Tensor& t = y_.at(size_t(op));
  return to_host(t.type, t.data, t.count());
}

std::vector<float> CudaExecutable::output_grad(int op) const {
  const Tensor& t = dy_.at(size_t(op));
  if (!t.data) throw std::invalid_argument("cuda: op " + std::to_string(op) + " has no output gradient");
  return to_host(t.type, t.data, t.count());
}

std::vector<float> CudaExecutable::gather(const std::string& name, bool grad) const {
  const ParamView& v = params_.view(name);
  const ParamBlob& b = *params_.blobs().at(v.blob);
  if (grad && !b.grad.get()) throw std::invalid_argument("cuda: " + name + " has no gradient in inference");
  const std::vector<float> all = grad ? to_host(b.grad_type, b.grad.get(), b.n) : to_host(Storage::f32, b.master.get(), b.n);
  std::vector<float> out;
  for (auto [offset, count] : v.runs) out.insert(out.end(), all.begin() + long(offset), all.begin() + long(offset + count));
  return out;
}

std::vector<float> CudaExecutable::param(const std::string& name) const { return gather(name, false); }
std::vector<float> CudaExecutable::param_grad(const std::string& name) const { return gather(name, true); }

std::vector<float> CudaExecutable::labels() const {
  for (const auto& op : ops_)
    if (op && op->labels()) return to_host(Storage::s32, op->labels()->get(), op->labels()->bytes() / 4);
  throw std::invalid_argument("cuda: the graph has no loss op");
}

std::unique_ptr<Executable> make_cuda_executable(const Graph& g, Mode m) { return std::make_unique<CudaExecutable>(g, m); }

}  // namespace paradnn::cuda
