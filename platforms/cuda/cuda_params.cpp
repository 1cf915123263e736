#include "platforms/cuda/cuda_params.hpp"

#include <memory>
#include <stdexcept>

namespace paradnn::cuda {

namespace {

uint64_t seed_of(const std::string& name) {  // FNV-1a: stable across compilers, unlike std::hash
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

ParamBlob& ParamStore::add(const std::string& name, int op, size_t n, Storage weight_type, Storage grad_type, float lo,
                           float hi, cudaStream_t s) {
  auto b = std::make_unique<ParamBlob>();
  b->name = name;
  b->op = op;
  b->n = n;
  b->weight_type = weight_type;
  b->grad_type = grad_type;
  b->master = DeviceBuffer(n * 4);
  fill_uniform(Storage::f32, b->master.get(), n, lo, hi, seed_of(name), s);
  if (weight_type != Storage::f32) b->copy = DeviceBuffer(n * size_of(weight_type));
  sync_copy(*b, s);
  if (training_) {
    b->grad = DeviceBuffer(n * size_of(grad_type));
    PARADNN_CUDA(cudaMemsetAsync(b->grad.get(), 0, b->grad.bytes(), s));
    const int state = optimizer_state_per_param(optimizer_);
    if (state >= 1) b->state1 = DeviceBuffer(n * 4);
    if (state >= 2) b->state2 = DeviceBuffer(n * 4);
    for (DeviceBuffer* d : {&b->state1, &b->state2})
      if (d->get()) PARADNN_CUDA(cudaMemsetAsync(d->get(), 0, d->bytes(), s));
  }
  views_[name] = ParamView{blobs_.size(), {{0, n}}};
  blobs_.push_back(std::move(b));
  return *blobs_.back();
}

void ParamStore::sync_copy(const ParamBlob& b, cudaStream_t s) const {
  if (b.copy.get()) convert(Storage::f32, b.master.get(), b.weight_type, b.copy.get(), b.n, s);
}

void ParamStore::update(const UpdateRule& r, int op, cudaStream_t s) {
  for (const auto& b : blobs_)
    if (op < 0 || b->op == op)
      optimizer_update(r, b->master.as<float>(), b->weight_type, b->copy.get(), b->grad_type, b->grad.get(),
                       b->state1.as<float>(), b->state2.as<float>(), b->n, s);
}

const ParamView& ParamStore::view(const std::string& name) const {
  auto it = views_.find(name);
  if (it == views_.end()) throw std::invalid_argument("cuda: no parameter named '" + name + "'");
  return it->second;
}

}  // namespace paradnn::cuda
