// A graph prepared for the GPU: buffers, cuDNN/cuBLAS plans and synthetic data, built once
// outside the timed region. step() only enqueues work on the executable's stream;
// step_seconds() (the device clock) brackets it with CUDA events and waits for the stop event, so the device
// is synchronized only at step boundaries.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "platforms/backend.hpp"
#include "platforms/cuda/cuda_op.hpp"

namespace paradnn::cuda {

class CudaExecutable final : public Executable {
 public:
  CudaExecutable(const Graph& g, Mode m);
  ~CudaExecutable() override;

  void step() override;
  Clock clock() const override { return Clock::device; }
  double step_seconds() override;
  double loss() const override;
  std::vector<OpTime> profile(int iterations) override;
  std::string kernels() const override;

  // Read-back for tests (each synchronizes), as f32 in the IR's layout.
  std::vector<float> output(int op) const;       // an op's output; token ids as values
  std::vector<float> output_grad(int op) const;  // d loss / d output of an op (training)
  std::vector<float> param(const std::string& name) const;       // master weights
  std::vector<float> param_grad(const std::string& name) const;  // last step's gradient
  std::vector<float> labels() const;                             // the loss op's class ids

  // Calls made on the host while a step is enqueued (data-parallel gradient all-reduce):
  // after_backward(i) once op i's backward is enqueued (every op, in reverse order, data ops
  // too), before_update() once all of backward is. Empty hooks are skipped; set them while
  // preparing, never during a step.
  struct StepHooks {
    std::function<void(int op)> after_backward;
    std::function<void()> before_update;
  };
  void set_hooks(StepHooks h) { hooks_ = std::move(h); }
  const Graph& graph() const { return graph_; }
  Context& context() { return *ctx_; }
  ParamStore& params() { return params_; }

 private:
  struct Phase;  // per-op event pairs for profile()
  void run(std::vector<Phase>* record);
  std::vector<float> to_host(Storage t, const void* p, size_t n) const;
  std::vector<float> gather(const std::string& name, bool grad) const;

  Graph graph_;
  Mode mode_;
  std::unique_ptr<Context> ctx_;
  ParamStore params_;
  std::vector<DeviceBuffer> outputs_, grads_;
  std::vector<Tensor> y_, dy_;
  std::vector<std::unique_ptr<CudaOp>> ops_;  // null for data ops, which do no work per step
  UpdateRule rule_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  StepHooks hooks_;
};

std::unique_ptr<Executable> make_cuda_executable(const Graph& g, Mode m);

}  // namespace paradnn::cuda
