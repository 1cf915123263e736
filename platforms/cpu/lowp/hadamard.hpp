// Hadamard-domain int8 GEMM: both operands are rotated by a block-diagonal normalized
// Walsh-Hadamard matrix H along the reduction dimension (A H and H^T B, so the product is
// unchanged: H H^T = I), which spreads an outlier over its block before int8 quantization
// (per-row scales for A, per-column for B); the int32 product is scaled back to f32.
#pragma once
#include <cstdint>
#include <vector>

#include "platforms/cpu/lowp/int_gemm.hpp"

namespace paradnn::cpu::lowp {

// Sylvester's +-1 Hadamard matrix of order n (a power of two), row-major: H H^T = n I.
std::vector<int> hadamard_matrix(int n);

// In-place fast Walsh-Hadamard transform, normalized by 1/sqrt(block), of every row of
// A (rows x k) along k in blocks of `block`, or of every column of B (k x cols) along k.
// k must be a multiple of block (a power of two).
void hadamard_rows(float* a, int rows, int k, int block);
void hadamard_cols(float* b, int k, int cols, int block);

// Symmetric int8 quantization: scale = max|x| / 127 per row of A (m x k) or column of B (k x n).
void quantize_rows_s8(const float* a, int m, int k, int8_t* q, float* scale);
void quantize_cols_s8(const float* b, int k, int n, int8_t* q, float* scale);

// C (m x n, f32) ~ A (m x k) B (k x n), all dense row-major, through int8 with or without
// the transform; buffers are kept between calls.
class HadamardInt8Gemm {
 public:
  HadamardInt8Gemm(int block, bool transform, IntIsa isa) : block_(block), transform_(transform), isa_(isa) {}
  void run(int m, int n, int k, const float* a, const float* b, float* c);
  // Only the int8 product and the scaling back, on the operands the last run() prepared.
  void run_int8_only(int m, int n, int k, float* c);

 private:
  int block_;
  bool transform_;
  IntIsa isa_;
  std::vector<float> a_, b_, sa_, sb_;
  std::vector<int8_t> qa_, qb_;
  std::vector<int32_t> c32_;
};

}  // namespace paradnn::cpu::lowp
