// The floating-point baselines the integer kernels are measured against: f32 through
// oneDNN's dnnl_sgemm, and bf16 through a oneDNN matmul primitive (bf16 inputs, f32 output and
// accumulation) where the ISA has native bf16 dot products; otherwise bf16 is skipped.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace paradnn::cpu::lowp {

struct FloatGemmArgs {
  bool trans_a = false, trans_b = false;
  int m = 0, n = 0, k = 0;
  int lda = 0, ldb = 0, ldc = 0;
};

// C = op(A) op(B) in f32 (overwritten), row-major, dnnl_sgemm.
void sgemm(const FloatGemmArgs& g, const float* a, const float* b, float* c);

// Why bf16 cannot run natively here, or nullopt.
std::optional<std::string> bf16_unavailable();

// f32 -> bf16 with round-to-nearest-even (the conversion a bf16 step pays).
void to_bf16(const float* x, size_t n, uint16_t* y);

// C = op(A) op(B) with bf16 operands; primitives cached per shape. The operands are converted
// from f32 into buffers owned here, as a mixed-precision step does.
class Bf16Gemm {
 public:
  Bf16Gemm();
  ~Bf16Gemm();
  void run(const FloatGemmArgs& g, const float* a, const float* b, float* c);
  // Only the matmul, on operands already in bf16 (dense: lda = op(A) row length and so on).
  void run_bf16(const FloatGemmArgs& g, const uint16_t* a, const uint16_t* b, float* c);
  std::string kernel() const { return kernel_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<uint16_t> a16_, b16_;
  std::string kernel_;
};

}  // namespace paradnn::cpu::lowp
