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
#include "platforms/cpu/lowp/float_gemm.hpp"
#include "platforms/cpu/lowp/int_gemm.hpp"

namespace paradnn::cpu::lowp {

struct Batch {
  int size = 0;
  std::vector<float> x;        // size x features
  std::vector<int32_t> label;  // size
};

// `size` examples of the task's batch `seed` (e.g. models::MixtureTask).
Batch draw_batch(const models::Task& task, int size, uint64_t seed);

enum class Precision { f32, bf16, int16_dfp };
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

 private:
  void forward(const Batch& batch);
  double softmax_loss(const Batch& batch);  // leaves dlogits
  // A tensor in DFP: quantized once per step and used by both products that read it.
  struct Dfp {
    std::vector<int16_t> q;
    int exponent = 0;
  };
  void quantize(const std::vector<float>& x, Dfp& d);
  // c = op(a) op(b); in INT16 DFP from qa and qb, the operands' quantized copies.
  void product(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c, const Dfp& qa, const Dfp& qb);

  FcShape shape_;
  Precision precision_;
  float lr_;
  IntIsa isa_;
  std::vector<int> dims_;
  std::vector<std::vector<float>> w_, b_, act_, grad_, dw_;
  std::vector<Dfp> qact_, qw_;  // per layer: its input activations and weights
  Dfp qdz_;                      // the gradient at the layer being back-propagated
  std::unique_ptr<Bf16Gemm> bf16_;
};

}  // namespace paradnn::cpu::lowp
