// Trainable parameters on the GPU: f32 master weights, the compute-type copy the
// libraries read, gradients, and optimizer state; plus named views for reading them back.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "platforms/cuda/cuda_kernels.hpp"
#include "platforms/cuda/device_buffer.hpp"

namespace paradnn::cuda {

struct ParamBlob {
  std::string name;
  int op = -1;  // graph op that owns it (for the per-op profile)
  size_t n = 0;
  Storage weight_type = Storage::f32, grad_type = Storage::f32;
  DeviceBuffer master, copy, grad, state1, state2;
  void* weight() const { return copy.get() ? copy.get() : master.get(); }  // what the op computes with
};

// Where a graph Param lives: (offset, count) runs inside one blob, in the IR's layout.
struct ParamView {
  size_t blob = 0;
  std::vector<std::pair<size_t, size_t>> runs;
};

class ParamStore {
 public:
  ParamStore(bool training, Optimizer opt) : training_(training), optimizer_(opt) {}
  // Allocates a blob whose weights start uniform in [lo, hi] and registers a view
  // covering it under `name`.
  ParamBlob& add(const std::string& name, int op, size_t n, Storage weight_type, Storage grad_type, float lo, float hi,
                 cudaStream_t s);
  void add_view(const std::string& name, ParamView v) { views_[name] = std::move(v); }
  // Rewrites the compute copy from the master weights (after an op edited the master).
  void sync_copy(const ParamBlob& b, cudaStream_t s) const;
  void update(const UpdateRule& r, int op, cudaStream_t s);  // op -1: every blob

  const std::vector<std::unique_ptr<ParamBlob>>& blobs() const { return blobs_; }
  const ParamView& view(const std::string& name) const;

 private:
  bool training_;
  Optimizer optimizer_;
  std::vector<std::unique_ptr<ParamBlob>> blobs_;
  std::map<std::string, ParamView> views_;
};

}  // namespace paradnn::cuda
