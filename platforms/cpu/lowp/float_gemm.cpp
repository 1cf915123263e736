#include "platforms/cpu/lowp/float_gemm.hpp"

#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>

#include "platforms/cpu/probes/cpu_platform.hpp"

namespace paradnn::cpu::lowp {

void sgemm(const FloatGemmArgs& g, const float* a, const float* b, float* c) {
  const dnnl_status_t s = dnnl_sgemm(g.trans_a ? 'T' : 'N', g.trans_b ? 'T' : 'N', g.m, g.n, g.k, 1.0f, a, g.lda, b,
                                     g.ldb, 0.0f, c, g.ldc);
  if (s != dnnl_success) throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(int(s)));
}

std::optional<std::string> bf16_unavailable() {
  const std::string why = dtype_unsupported_reason(DType::bf16, cpu_features());
  if (why.empty()) return std::nullopt;
  return why;
}

void to_bf16(const float* x, size_t n, uint16_t* y) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &x[i], 4);
    u += 0x7fff + ((u >> 16) & 1);  // round to nearest even (inputs here are finite)
    y[i] = static_cast<uint16_t>(u >> 16);
  }
}

struct Bf16Gemm::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<std::tuple<bool, bool, int, int, int>, dnnl::matmul> cache;
};

Bf16Gemm::Bf16Gemm() : impl_(std::make_unique<Impl>()) {}
Bf16Gemm::~Bf16Gemm() = default;

void Bf16Gemm::run_bf16(const FloatGemmArgs& g, const uint16_t* a, const uint16_t* b, float* c) {
  using dt = dnnl::memory::data_type;
  using dims = dnnl::memory::dims;
  const dnnl::memory::dim M = g.m, N = g.n, K = g.k;
  // A transposed operand is a strided view of the dense buffer.
  const dnnl::memory::desc ad({M, K}, dt::bf16, g.trans_a ? dims{1, M} : dims{K, 1});
  const dnnl::memory::desc bd({K, N}, dt::bf16, g.trans_b ? dims{1, K} : dims{N, 1});
  const dnnl::memory::desc cd({M, N}, dt::f32, dims{g.ldc, 1});
  const auto key = std::make_tuple(g.trans_a, g.trans_b, g.m, g.n, g.k);
  auto it = impl_->cache.find(key);
  if (it == impl_->cache.end()) {
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), impl_->engine);
    kernel_ = pd.impl_info_str();
    it = impl_->cache.emplace(key, dnnl::matmul(pd)).first;
  }
  dnnl::memory am(ad, impl_->engine, const_cast<uint16_t*>(a)), bm(bd, impl_->engine, const_cast<uint16_t*>(b)),
      cm(cd, impl_->engine, c);
  it->second.execute(impl_->stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  impl_->stream.wait();
}

void Bf16Gemm::run(const FloatGemmArgs& g, const float* a, const float* b, float* c) {
  // Dense copies: rows of the stored operand (op(A) is M x K, stored K x M when transposed).
  const int a_rows = g.trans_a ? g.k : g.m, a_cols = g.trans_a ? g.m : g.k;
  const int b_rows = g.trans_b ? g.n : g.k, b_cols = g.trans_b ? g.k : g.n;
  a16_.resize(size_t(a_rows) * a_cols);
  b16_.resize(size_t(b_rows) * b_cols);
  auto convert = [](const float* x, int rows, int cols, int ld, uint16_t* y) {
    if (ld == cols) return to_bf16(x, size_t(rows) * cols, y);
    for (int r = 0; r < rows; ++r) to_bf16(x + size_t(r) * ld, cols, y + size_t(r) * cols);
  };
  convert(a, a_rows, a_cols, g.lda, a16_.data());
  convert(b, b_rows, b_cols, g.ldb, b16_.data());
  run_bf16(g, a16_.data(), b16_.data(), c);
}

}  // namespace paradnn::cpu::lowp
