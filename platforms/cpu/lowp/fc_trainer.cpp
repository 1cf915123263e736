#include "platforms/cpu/lowp/fc_trainer.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "platforms/cpu/lowp/dfp.hpp"

namespace paradnn::cpu::lowp {

namespace {
constexpr int kTrainHadamardBlock = 32;  // hadamard4: Walsh-Hadamard block along each product's k
}  // namespace

Batch draw_batch(const models::Task& task, int size, uint64_t seed) {
  Batch b;
  b.size = size;
  task.batch(seed, size, b.x, b.label);
  return b;
}

std::string to_string(Precision p) {
  switch (p) {
    case Precision::f32: return "f32";
    case Precision::bf16: return "bf16";
    case Precision::int16_dfp: return "int16_dfp";
    case Precision::hadamard4: return "hadamard4";
  }
  return "?";
}

std::string FcShape::str() const {
  return fmt::format("fc in{} h{}x{} out{} b{}", input, hidden, hidden_layers, classes, batch);
}

FcTrainer::FcTrainer(const FcShape& shape, Precision precision, uint64_t seed, float learning_rate)
    : shape_(shape), precision_(precision), lr_(learning_rate), isa_(detected_int_isa()) {
  if (precision == Precision::bf16) bf16_ = std::make_unique<Bf16Gemm>();
  if (precision == Precision::hadamard4) h4_ = std::make_unique<Hadamard4Gemm>(kTrainHadamardBlock, isa_, true);
  seed_ = seed;
  dims_.push_back(shape.input);
  for (int l = 0; l < shape.hidden_layers; ++l) dims_.push_back(shape.hidden);
  dims_.push_back(shape.classes);
  const int layers = int(dims_.size()) - 1;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  w_.resize(layers);
  b_.resize(layers);
  dw_.resize(layers);
  qact_.resize(layers);
  qw_.resize(layers);
  for (int l = 0; l < layers; ++l) {
    const float he = std::sqrt(2.0f / float(dims_[l]));
    w_[l].resize(size_t(dims_[l]) * dims_[l + 1]);
    for (float& v : w_[l]) v = he * normal(rng);
    b_[l].assign(dims_[l + 1], 0.0f);
    dw_[l].resize(w_[l].size());
  }
  act_.resize(dims_.size());
  grad_.resize(dims_.size());
  for (size_t l = 0; l < dims_.size(); ++l) {
    act_[l].resize(size_t(shape.batch) * dims_[l]);
    grad_[l].resize(act_[l].size());
  }
}

double FcTrainer::gemm_flops_per_step() const {
  double f = 0;
  for (size_t l = 0; l + 1 < dims_.size(); ++l) f += (l == 0 ? 2 : 3) * 2.0 * shape_.batch * dims_[l] * dims_[l + 1];
  return f;
}

void FcTrainer::quantize(const std::vector<float>& x, Dfp& d, int qmax) {
  if (precision_ != Precision::int16_dfp) return;
  d.quantize(x.data(), x.size(), qmax);
}

void FcTrainer::product(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c, const Dfp& qa,
                        const Dfp& qb, bool grad_a, bool grad_b) {
  if (precision_ == Precision::hadamard4) {
    const auto rounding = [](bool grad) { return grad ? Rounding::stochastic : Rounding::nearest; };
    return h4_->run(ta, tb, m, n, k, a, b, c, rounding(grad_a), rounding(grad_b), seed_ * 0x100000001b3ull + products_++);
  }
  // Dense row-major operands: the stored row length is op's column count, or its row count
  // when transposed.
  const int lda = ta ? m : k, ldb = tb ? k : n;
  if (precision_ == Precision::f32) return sgemm({ta, tb, m, n, k, lda, ldb, n}, a, b, c);
  if (precision_ == Precision::bf16) return bf16_->run({ta, tb, m, n, k, lda, ldb, n}, a, b, c);
  dfp_gemm(ta, tb, m, n, k, qa, qb, c, isa_);
}

void FcTrainer::forward(const Batch& batch) {
  const int bs = shape_.batch;
  std::copy(batch.x.begin(), batch.x.begin() + act_[0].size(), act_[0].begin());
  for (size_t l = 0; l + 1 < dims_.size(); ++l) {
    const int in = dims_[l], out = dims_[l + 1];
    float* y = act_[l + 1].data();
    quantize(act_[l], qact_[l], kDfpActivationMax);
    quantize(w_[l], qw_[l]);
    product(false, false, bs, out, in, act_[l].data(), w_[l].data(), y, qact_[l], qw_[l]);
    const bool relu = l + 2 < dims_.size();
#pragma omp parallel for schedule(static)
    for (int i = 0; i < bs; ++i)
      for (int j = 0; j < out; ++j) {
        const float v = y[size_t(i) * out + j] + b_[l][j];
        y[size_t(i) * out + j] = relu ? std::max(v, 0.0f) : v;
      }
  }
}

double FcTrainer::softmax_loss(const Batch& batch) {
  const int bs = shape_.batch, classes = dims_.back();
  const float* logits = act_.back().data();
  float* d = grad_.back().data();
  double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
  for (int i = 0; i < bs; ++i) {
    const float* z = logits + size_t(i) * classes;
    const float zmax = *std::max_element(z, z + classes);
    double sum = 0;
    for (int j = 0; j < classes; ++j) sum += std::exp(double(z[j] - zmax));
    total += std::log(sum) - double(z[batch.label[i]] - zmax);
    for (int j = 0; j < classes; ++j)
      d[size_t(i) * classes + j] = float((std::exp(double(z[j] - zmax)) / sum - (j == batch.label[i])) / bs);
  }
  return total / bs;
}

double FcTrainer::step(const Batch& batch) {
  forward(batch);
  const double loss = softmax_loss(batch);
  const int bs = shape_.batch;
  for (int l = int(dims_.size()) - 2; l >= 0; --l) {
    const int in = dims_[l], out = dims_[l + 1];
    const float* dz = grad_[l + 1].data();
    quantize(grad_[l + 1], qdz_);
    // Backward-weights: dW = H^T dZ (in x out, reduction over the batch).
    product(true, false, in, out, bs, act_[l].data(), dz, dw_[l].data(), qact_[l], qdz_, false, true);
    if (l > 0) {
      // Backward-data: dH = dZ W^T (batch x in), then through the ReLU of layer l.
      float* dh = grad_[l].data();
      product(false, true, bs, in, out, dz, w_[l].data(), dh, qdz_, qw_[l], true, false);
      const float* h = act_[l].data();
#pragma omp parallel for simd schedule(static)
      for (size_t i = 0; i < grad_[l].size(); ++i) dh[i] = h[i] > 0 ? dh[i] : 0.0f;
    }
    for (int j = 0; j < out; ++j) {
      float db = 0;
      for (int i = 0; i < bs; ++i) db += dz[size_t(i) * out + j];
      b_[l][j] -= lr_ * db;
    }
    float* w = w_[l].data();
    const float* dw = dw_[l].data();
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < w_[l].size(); ++i) w[i] -= lr_ * dw[i];
  }
  return loss;
}

double FcTrainer::loss(const Batch& batch) {
  forward(batch);
  return softmax_loss(batch);
}

double FcTrainer::accuracy(const Batch& batch) {
  forward(batch);
  const int classes = dims_.back();
  int right = 0;
  for (int i = 0; i < shape_.batch; ++i) {
    const float* z = act_.back().data() + size_t(i) * classes;
    right += int(std::max_element(z, z + classes) - z) == batch.label[i];
  }
  return double(right) / shape_.batch;
}

}  // namespace paradnn::cpu::lowp
