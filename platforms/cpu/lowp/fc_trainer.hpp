// A small FC classifier trained with SGD on a learnable synthetic task, its three products
// per layer (forward, backward-data, backward-weights) in f32 (dnnl_sgemm), bf16 (oneDNN
// matmul) or INT16 dynamic fixed point (each operand quantized with its own per-tensor
// exponent, int16 GEMM with int32 accumulation, result scaled by 2^(ea + eb)). Master
// weights, biases, ReLU, softmax cross-entropy and the update stay in f32 in all three.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/mixture_task.hpp"
#include "platforms/cpu/lowp/dfp.hpp"
#include "platforms/cpu/lowp/float_gemm.hpp"
#include "platforms/cpu/lowp/hadamard4.hpp"
#include "platforms/cpu/lowp/int_gemm.hpp"

namespace paradnn::cpu::lowp {

struct Batch {
  int size = 0;
  std::vector<float> x;        // size x features
  std::vector<int32_t> label;  // size
};

// `size` examples of the task's batch `seed` (e.g. models::MixtureTask).
Batch draw_batch(const models::Task& task, int size, uint64_t seed);

// hadamard4: every product through Hadamard4Gemm (block-32 Walsh-Hadamard along k, 4-bit
// operands, int8 tiles; gradients stochastically rounded, overflow-checked).
enum class Precision { f32, bf16, int16_dfp, hadamard4 };
std::string to_string(Precision p);

struct FcShape {
  int input = 64, hidden = 256, hidden_layers = 2, classes = 10, batch = 128;
  std::string str() const;  // e.g. "fc in64 h256x2 out10 b128"
};

class FcTrainer {
 public:
  FcTrainer(const FcShape& shape, Precision precision, uint64_t seed, float learning_rate);
  // One SGD step on the batch; returns the mean loss of its forward pass.
  double step(const Batch& batch);
  // Mean loss and top-1 accuracy of the forward pass alone.
  double loss(const Batch& batch);
  double accuracy(const Batch& batch);
  // FLOPs of the step's products: 3 GEMMs per layer (the first layer's backward-data is skipped).
  double gemm_flops_per_step() const;
  // hadamard4: accumulator overflows so far (checked in every product; must stay 0) and the
  // int8 tile length of the last product.
  int64_t s4_overflows() const { return h4_ ? h4_->stats().overflows : 0; }
  int s4_tile_steps() const { return h4_ ? h4_->stats().tile_steps : 0; }

 private:
  void forward(const Batch& batch);
  double softmax_loss(const Batch& batch);  // leaves dlogits
  // A tensor in DFP: quantized once per step and used by both products that read it.
  using Dfp = DfpTensor;
  void quantize(const std::vector<float>& x, Dfp& d, int qmax = kDfpGemmMax);  // (int16_dfp only)
  // c = op(a) op(b); in INT16 DFP from qa and qb, the operands' quantized copies; in hadamard4
  // with stochastic rounding for the operand that is a gradient (grad_a / grad_b).
  void product(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c, const Dfp& qa, const Dfp& qb,
               bool grad_a = false, bool grad_b = false);

  FcShape shape_;
  Precision precision_;
  float lr_;
  IntIsa isa_;
  std::vector<int> dims_;
  std::vector<std::vector<float>> w_, b_, act_, grad_, dw_;
  std::vector<Dfp> qact_, qw_;  // per layer: its input activations and weights
  Dfp qdz_;                      // the gradient at the layer being back-propagated
  std::unique_ptr<Bf16Gemm> bf16_;
  std::unique_ptr<Hadamard4Gemm> h4_;
  uint64_t seed_ = 0, products_ = 0;  // stochastic rounding: a fresh seed per product
};

}  // namespace paradnn::cpu::lowp
