#include "platforms/cpu/probes/roofline_gemm.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <stdexcept>

namespace paradnn::cpu {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct GemmTypes {
  dt src, wei, dst;
  // Inputs 1 and 2 (bf16 0.5 for floats: 1 x 0.5 summed n times is exact) make every output
  // element the same known number.
  double expected_per_k;
};

std::optional<GemmTypes> types_for(const std::string& dtype) {
  if (dtype == "f32") return GemmTypes{dt::f32, dt::f32, dt::f32, 0.5};
  if (dtype == "bf16") return GemmTypes{dt::bf16, dt::bf16, dt::f32, 0.5};
  if (dtype == "int8") return GemmTypes{dt::u8, dt::s8, dt::s32, 2.0};
  return std::nullopt;
}

void fill(dnnl::memory& m, dt type, double value, size_t count) {
  void* p = m.get_data_handle();
  switch (type) {
    case dt::f32: std::fill_n(static_cast<float*>(p), count, static_cast<float>(value)); break;
    case dt::bf16: {
      const float f = static_cast<float>(value);
      uint32_t bits;
      std::memcpy(&bits, &f, sizeof bits);
      std::fill_n(static_cast<uint16_t*>(p), count, static_cast<uint16_t>(bits >> 16));  // exact for 1 and 0.5
      break;
    }
    case dt::u8: std::fill_n(static_cast<uint8_t*>(p), count, static_cast<uint8_t>(value)); break;
    case dt::s8: std::fill_n(static_cast<int8_t*>(p), count, static_cast<int8_t>(value)); break;
    default: throw std::logic_error("roofline gemm: no fill for this type");
  }
}

size_t wrong_outputs(const dnnl::memory& m, dt type, double expected, size_t count) {
  size_t wrong = 0;
  if (type == dt::f32) {
    const auto* p = static_cast<const float*>(m.get_data_handle());
    for (size_t i = 0; i < count; ++i) wrong += p[i] != expected;
  } else {
    const auto* p = static_cast<const int32_t*>(m.get_data_handle());
    for (size_t i = 0; i < count; ++i) wrong += p[i] != expected;
  }
  return wrong;
}

}  // namespace

std::optional<GemmCeiling> library_gemm(const std::string& dtype, int n, int repetitions) {
  const auto types = types_for(dtype);
  if (!types) return std::nullopt;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(eng);
  const dnnl::memory::dims dims{n, n};
  const dnnl::memory::desc src_md(dims, types->src, tag::ab), dst_md(dims, types->dst, tag::ab);
  const dnnl::memory::desc wei_any(dims, types->wei, tag::any), wei_plain(dims, types->wei, tag::ab);
  dnnl::matmul::primitive_desc pd;
  try {
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_any, dst_md), eng);
  } catch (const dnnl::error&) {
    return std::nullopt;  // no implementation of this type on this ISA
  }
  const size_t elems = static_cast<size_t>(n) * n;
  dnnl::memory src(pd.src_desc(), eng), wei(pd.weights_desc(), eng), dst(pd.dst_desc(), eng);
  dnnl::memory wei_user(wei_plain, eng);
  fill(src, types->src, 1.0, elems);
  fill(wei_user, types->wei, types->expected_per_k, elems);
  dnnl::reorder(wei_user, wei).execute(stream, wei_user, wei);  // into the layout the GEMM prefers
  dnnl::matmul gemm(pd);
  auto run = [&] {
    gemm.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
    stream.wait();
  };
  run();  // warm-up: JIT, first touch of the output
  const double flops = 2.0 * n * static_cast<double>(n) * n;
  GemmCeiling c;
  c.rate = best_of(repetitions, [&] {
    const double t0 = seconds_since_epoch();
    run();
    return flops / (seconds_since_epoch() - t0);
  });
  const double expected = types->expected_per_k * n;
  if (const size_t wrong = wrong_outputs(dst, types->dst, expected, elems))
    throw std::runtime_error(fmt::format("roofline gemm {} n={}: {} of {} outputs differ from {}", dtype, n, wrong,
                                         elems, expected));
  c.impl = pd.impl_info_str();
  return c;
}

}  // namespace paradnn::cpu
