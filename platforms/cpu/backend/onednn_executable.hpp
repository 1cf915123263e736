// A graph prepared for the CPU: everything built once by the Net, step() replays its calls.
#pragma once
#include <string>
#include <vector>

#include "platforms/backend.hpp"
#include "platforms/cpu/backend/onednn_net.hpp"

namespace paradnn::cpu {

class CpuExecutable final : public Executable {
 public:
  CpuExecutable(const Graph& g, Mode m, bool fuse = true, Buffers buffers = Buffers::shared);

  void step() override;
  double loss() const override;
  std::vector<OpTime> profile(int iterations) override;
  std::string kernels() const override;

  std::vector<int> primitive_arg_counts() const { return net_.calls().primitive_arg_counts(); }

  // Read-back for tests, as f32 in the IR's layout.
  // Both throw where a tensor that ran later reused the shared buffer (Buffers::shared).
  std::vector<float> output(int op);       // an op's output (token ids as values)
  std::vector<float> output_grad(int op);  // d loss / d output of an op (training)
  std::vector<float> param(const std::string& name);       // current (master) weights
  std::vector<float> param_grad(const std::string& name);  // the last step's gradient
  const std::vector<int32_t>& labels() const { return net_.labels; }
  // The lowered net, for wrappers that add calls to its step (data-parallel all-reduce).
  Net& net() { return net_; }
  const Net& net() const { return net_; }

 private:
  const Param& find_param(const std::string& name) const;
  Net net_;
};

}  // namespace paradnn::cpu
