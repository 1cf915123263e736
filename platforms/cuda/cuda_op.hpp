// One graph op on the GPU. The executable allocates every op's output and output
// gradient, wires each op to its inputs, and calls forward() in graph order and
// backward() in reverse; ops own their descriptors, algorithm choice and parameters.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "paradnn/graph.hpp"
#include "platforms/cuda/cuda_context.hpp"
#include "platforms/cuda/cuda_params.hpp"
#include "platforms/cuda/cudnn_descriptors.hpp"

namespace paradnn::cuda {

struct Tensor {
  void* data = nullptr;
  Dims dims;
  Storage type = Storage::f32;
  size_t count() const { return static_cast<size_t>(elements(dims)); }
  const int32_t* as_ids() const { return static_cast<const int32_t*>(data); }  // token_input's s32
};

// A gradient an op writes for one of its inputs: dx = result + beta * dx, where beta is 0
// for the first consumer to write in the backward pass and 1 for the rest (fan-out sums).
struct GradOut {
  Tensor t;  // data null where the input needs no gradient
  float beta = 0;
};

struct OpArgs {
  const Graph& graph;
  int index;
  const Op& op;
  Mode mode;
  Context& ctx;
  ParamStore& params;
  std::vector<Tensor> x;   // inputs
  std::vector<GradOut> dx; // one per input
  Tensor y, dy;            // output, and its gradient (null in inference)
  bool training() const { return mode == Mode::train; }
};

class CudaOp {
 public:
  virtual ~CudaOp() = default;
  virtual void forward() = 0;
  virtual void backward() {}
  virtual std::string impl() const = 0;                          // which kernels run, for reports
  virtual size_t workspace_bytes() const { return 0; }            // of the shared workspace
  virtual std::optional<double> loss() const { return std::nullopt; }  // the loss op's mean
  virtual const DeviceBuffer* labels() const { return nullptr; }        // the loss op's s32 labels
};

std::unique_ptr<CudaOp> make_op(const OpArgs& a);
// Why this backend cannot run an op (a kind or attribute it does not implement), or nullopt.
std::optional<std::string> unsupported_reason(const Op& op);

// One per file: the factories make_op dispatches to.
std::unique_ptr<CudaOp> make_dense(const OpArgs& a);
std::unique_ptr<CudaOp> make_conv(const OpArgs& a);
std::unique_ptr<CudaOp> make_batch_norm(const OpArgs& a);
std::unique_ptr<CudaOp> make_pool(const OpArgs& a);
std::unique_ptr<CudaOp> make_activation(const OpArgs& a);  // relu, tanh, gelu
std::unique_ptr<CudaOp> make_merge(const OpArgs& a);       // add, concat
std::unique_ptr<CudaOp> make_embedding(const OpArgs& a);
std::unique_ptr<CudaOp> make_rnn(const OpArgs& a);
std::unique_ptr<CudaOp> make_softmax_xent(const OpArgs& a);
std::unique_ptr<CudaOp> make_layer_norm(const OpArgs& a);
std::unique_ptr<CudaOp> make_batched_matmul(const OpArgs& a);
std::unique_ptr<CudaOp> make_softmax(const OpArgs& a);
std::unique_ptr<CudaOp> make_reshape(const OpArgs& a);    // cuda_shape_ops.cpp
std::unique_ptr<CudaOp> make_transpose(const OpArgs& a);
std::unique_ptr<CudaOp> make_upsample(const OpArgs& a);
std::unique_ptr<CudaOp> make_focal_loss(const OpArgs& a);

// Parameter k of the op (cuda_tied_params.cpp): a new blob, or the blob of the op it
// shares parameters with (Op::shares_params_with), registered under this op's name too.
ParamBlob& param_blob(const OpArgs& a, size_t k, size_t n, Storage weight_type, Storage grad_type, float lo, float hi);
// beta for the op's weight gradients: 0 where it writes them first, 1 where it adds to a
// tied op's (a later user of the same blob, whose backward ran before).
float weight_grad_beta(const OpArgs& a);

// A fused post-op (Op::post) applied in place on the output, and its gradient in place
// on the output gradient. relu and tanh only: their gradients need just the output.
class PostActivation {
 public:
  PostActivation(const OpArgs& a);
  void forward() const;
  void backward() const;
  bool active() const { return mode_ != std::nullopt; }

 private:
  cudnnHandle_t dnn_;
  std::optional<cudnnActivationMode_t> mode_;
  Tensor y_, dy_;
  ActDesc act_;
  TensorDesc desc_;
};

}  // namespace paradnn::cuda
