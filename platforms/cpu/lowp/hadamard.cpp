#include "platforms/cpu/lowp/hadamard.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace paradnn::cpu::lowp {

namespace {

void check_block(int k, int block) {
  if (block < 1 || (block & (block - 1)) != 0) throw std::invalid_argument("Hadamard block must be a power of two");
  if (k % block != 0) throw std::invalid_argument("Hadamard transform: k must be a multiple of the block");
}

}  // namespace

std::vector<int> hadamard_matrix(int n) {
  check_block(n, n);
  std::vector<int> h(size_t(n) * n);
  // H[i][j] = (-1)^popcount(i & j): Sylvester's construction.
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) h[size_t(i) * n + j] = (__builtin_popcount(unsigned(i & j)) & 1) ? -1 : 1;
  return h;
}

void hadamard_rows(float* a, int rows, int k, int block) {
  check_block(k, block);
  const float norm = 1.0f / std::sqrt(float(block));
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r)
    for (int b0 = 0; b0 < k; b0 += block) {
      float* x = a + size_t(r) * k + b0;
      for (int h = 1; h < block; h *= 2)
        for (int i = 0; i < block; i += 2 * h)
          for (int j = i; j < i + h; ++j) {
            const float u = x[j], v = x[j + h];
            x[j] = u + v;
            x[j + h] = u - v;
          }
      for (int j = 0; j < block; ++j) x[j] *= norm;
    }
}

void hadamard_cols(float* b, int k, int cols, int block) {
  check_block(k, block);
  const float norm = 1.0f / std::sqrt(float(block));
  // Butterflies between whole rows: contiguous and vectorizable.
#pragma omp parallel for schedule(static)
  for (int b0 = 0; b0 < k; b0 += block) {
    for (int h = 1; h < block; h *= 2)
      for (int i = b0; i < b0 + block; i += 2 * h)
        for (int j = i; j < i + h; ++j) {
          float* x = b + size_t(j) * cols;
          float* y = b + size_t(j + h) * cols;
#pragma omp simd
          for (int c = 0; c < cols; ++c) {
            const float u = x[c], v = y[c];
            x[c] = u + v;
            y[c] = u - v;
          }
        }
    for (int j = b0; j < b0 + block; ++j)
      for (int c = 0; c < cols; ++c) b[size_t(j) * cols + c] *= norm;
  }
}

void quantize_rows_s8(const float* a, int m, int k, int8_t* q, float* scale) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < m; ++i) {
    const float* row = a + size_t(i) * k;
    float amax = 0;
    for (int p = 0; p < k; ++p) amax = std::max(amax, std::fabs(row[p]));
    scale[i] = amax > 0 ? amax / 127.0f : 1.0f;
    const float inv = 1.0f / scale[i];
    for (int p = 0; p < k; ++p) q[size_t(i) * k + p] = static_cast<int8_t>(std::clamp(std::nearbyint(row[p] * inv), -127.0f, 127.0f));
  }
}

void quantize_cols_s8(const float* b, int k, int n, int8_t* q, float* scale) {
  std::vector<float> amax(n, 0.0f);
  for (int p = 0; p < k; ++p)
    for (int j = 0; j < n; ++j) amax[j] = std::max(amax[j], std::fabs(b[size_t(p) * n + j]));
  std::vector<float> inv(n);
  for (int j = 0; j < n; ++j) {
    scale[j] = amax[j] > 0 ? amax[j] / 127.0f : 1.0f;
    inv[j] = 1.0f / scale[j];
  }
#pragma omp parallel for schedule(static)
  for (int p = 0; p < k; ++p)
    for (int j = 0; j < n; ++j)
      q[size_t(p) * n + j] = static_cast<int8_t>(std::clamp(std::nearbyint(b[size_t(p) * n + j] * inv[j]), -127.0f, 127.0f));
}

void HadamardInt8Gemm::run(int m, int n, int k, const float* a, const float* b, float* c) {
  a_.assign(a, a + size_t(m) * k);
  b_.assign(b, b + size_t(k) * n);
  if (transform_) {
    hadamard_rows(a_.data(), m, k, block_);
    hadamard_cols(b_.data(), k, n, block_);
  }
  qa_.resize(size_t(m) * k);
  qb_.resize(size_t(k) * n);
  sa_.resize(m);
  sb_.resize(n);
  quantize_rows_s8(a_.data(), m, k, qa_.data(), sa_.data());
  quantize_cols_s8(b_.data(), k, n, qb_.data(), sb_.data());
  run_int8_only(m, n, k, c);
}

void HadamardInt8Gemm::run_int8_only(int m, int n, int k, float* c) {
  c32_.resize(size_t(m) * n);
  IntGemmArgs g;
  g.m = m, g.n = n, g.k = k, g.lda = k, g.ldb = n, g.ldc = n;
  gemm_s8s8s32(g, qa_.data(), qb_.data(), c32_.data(), isa_);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) c[size_t(i) * n + j] = sa_[i] * sb_[j] * static_cast<float>(c32_[size_t(i) * n + j]);
}

}  // namespace paradnn::cpu::lowp
