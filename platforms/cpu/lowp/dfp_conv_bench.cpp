#include "platforms/cpu/lowp/dfp_conv_bench.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>

#include "platforms/cpu/lowp/lowp_bench.hpp"

namespace paradnn::cpu::lowp {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct AlignedFloats {
  explicit AlignedFloats(size_t n) : p(static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64))) {
    std::fill(p, p + n, 0.0f);
  }
  ~AlignedFloats() { std::free(p); }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  float* data() { return p; }
  float* p;
};

// Operands of one layer: ReLU outputs for x (half of them zero, as in a trained CNN).
std::vector<float> operand(size_t n, float scale, bool relu, uint64_t seed) {
  std::vector<float> v = lowp::gaussian(n, seed, scale);
  if (relu)
    for (float& x : v) x = std::max(0.0f, x);
  return v;
}

// oneDNN f32 convolution, the three passes on memories in oneDNN's chosen layouts (filled
// once from NHWC / KRSC data by reorders, outside the timing).
struct OnednnConv {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_backward_data::primitive_desc bwd_d_pd;
  dnnl::convolution_backward_weights::primitive_desc bwd_w_pd;
  dnnl::primitive fwd, bwd_d, bwd_w;
  std::unordered_map<int, memory> fwd_args, bwd_d_args, bwd_w_args;

  OnednnConv(const ConvShape& s, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& dy) {
    const memory::dims src{s.n, s.c, s.h, s.w}, wei{s.k, s.c, s.r, s.s}, bia{s.k}, dst{s.n, s.k, s.oh(), s.ow()};
    const memory::dims strides{s.stride, s.stride}, pad{s.pad, s.pad};
    const memory::desc src_any(src, dt::f32, tag::any), wei_any(wei, dt::f32, tag::any), bia_md(bia, dt::f32, tag::a),
        dst_any(dst, dt::f32, tag::any);
    fwd_pd = {{dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src_any, wei_any, bia_md, dst_any,
               strides, pad, pad},
              eng};
    bwd_d_pd = {{dnnl::algorithm::convolution_direct, src_any, wei_any, dst_any, strides, pad, pad}, eng, fwd_pd};
    bwd_w_pd = {{dnnl::algorithm::convolution_direct, src_any, wei_any, bia_md, dst_any, strides, pad, pad}, eng, fwd_pd};
    fwd = dnnl::convolution_forward(fwd_pd);
    bwd_d = dnnl::convolution_backward_data(bwd_d_pd);
    bwd_w = dnnl::convolution_backward_weights(bwd_w_pd);
    // User data: NHWC activations, KRSC (ohwi) weights.
    const memory::desc x_user(src, dt::f32, tag::nhwc), w_user(wei, dt::f32, tag::ohwi), dy_user(dst, dt::f32, tag::nhwc);
    auto from = [&](const memory::desc& user, const std::vector<float>& data, const memory::desc& want) {
      memory u(user, eng, const_cast<float*>(data.data())), m(want, eng);
      dnnl::reorder(u, m).execute(strm, u, m);
      return m;
    };
    const std::vector<float> zeros(s.k, 0.0f);
    fwd_args = {{DNNL_ARG_SRC, from(x_user, x, fwd_pd.src_desc())},
                {DNNL_ARG_WEIGHTS, from(w_user, w, fwd_pd.weights_desc())},
                {DNNL_ARG_BIAS, from(bia_md, zeros, bia_md)},
                {DNNL_ARG_DST, memory(fwd_pd.dst_desc(), eng)}};
    bwd_d_args = {{DNNL_ARG_DIFF_DST, from(dy_user, dy, bwd_d_pd.diff_dst_desc())},
                  {DNNL_ARG_WEIGHTS, from(w_user, w, bwd_d_pd.weights_desc())},
                  {DNNL_ARG_DIFF_SRC, memory(bwd_d_pd.diff_src_desc(), eng)}};
    bwd_w_args = {{DNNL_ARG_SRC, from(x_user, x, bwd_w_pd.src_desc())},
                  {DNNL_ARG_DIFF_DST, from(dy_user, dy, bwd_w_pd.diff_dst_desc())},
                  {DNNL_ARG_DIFF_WEIGHTS, memory(bwd_w_pd.diff_weights_desc(), eng)},
                  {DNNL_ARG_DIFF_BIAS, memory(bia_md, eng)}};
    strm.wait();
  }
  void run(dnnl::primitive& p, std::unordered_map<int, memory>& args) {
    p.execute(strm, args);
    strm.wait();
  }
};

}  // namespace

std::vector<ConvShape> dfp_conv_bench_shapes(bool quick) {
  const int n = quick ? 8 : 32;
  return {{n, 64, 64, 56, 56, 3, 3, 1, 1},
          {n, 64, 256, 56, 56, 1, 1, 1, 0},
          {n, 128, 128, 28, 28, 3, 3, 1, 1},
          {n, 16, 16, 64, 64, 3, 3, 1, 1},
          {n, 32, 32, 32, 32, 3, 3, 1, 1}};
}

void dfp_conv_rows(const std::vector<ConvShape>& shapes, const std::function<void(const LowpRow&)>& add, const LowpTimer& timer) {
  const IntIsa isa = detected_int_isa();
  const std::string isa_name = to_string(isa);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  uint64_t seed = 300;
  for (const ConvShape& s : shapes) {
    const std::string shape = s.str();
    const auto x = operand(size_t(s.n) * s.h * s.w * s.c, 1.0f, true, seed++);
    const auto w = operand(size_t(s.k) * s.r * s.s * s.c, 0.05f, false, seed++);
    const auto dy = operand(size_t(s.n) * s.oh() * s.ow() * s.k, 1e-3f, false, seed++);
    const std::vector<float> bias(s.k, 0.01f);
    // Outputs 64-byte aligned, as oneDNN's own memories are (the DFP kernels stream aligned rows).
    AlignedFloats y(dy.size()), dx(x.size()), dw(w.size()), db(s.k);
    OnednnConv ref(s, x, w, dy);
    DfpActivation qx, qdy;
    DfpConvWeights qw;
    dfp_pack_input(s, x.data(), qx);
    dfp_pack_weights(s, w.data(), qw);
    dfp_pack_grad_output(s, dy.data(), qdy);

    struct Pass {
      const char* kernel;
      std::string onednn_impl;
      std::function<void()> f32, dfp;
    };
    const Pass passes[] = {
        {"conv_fwd", ref.fwd_pd.impl_info_str(), [&] { ref.run(ref.fwd, ref.fwd_args); },
         [&] { dfp_conv_forward(s, qx, qw, bias.data(), y.data(), isa); }},
        {"conv_bwd_data", ref.bwd_d_pd.impl_info_str(), [&] { ref.run(ref.bwd_d, ref.bwd_d_args); },
         [&] { dfp_conv_backward_data(s, qdy, qw, dx.data(), isa); }},
        {"conv_bwd_weights", ref.bwd_w_pd.impl_info_str(), [&] { ref.run(ref.bwd_w, ref.bwd_w_args); },
         [&] { dfp_conv_backward_weights(s, qx, qdy, dw.data(), db.data(), isa); }},
    };
    double f32_step = 0, dfp_step = 0;
    for (const Pass& p : passes) {
      const LowpTiming tf = timer(std::string(p.kernel) + " f32 " + shape, p.f32);
      add({p.kernel, "f32", shape, "onednn", tf, s.flops(), "", nan, "oneDNN " + p.onednn_impl + ", format_tag::any", false});
      const LowpTiming td = timer(std::string(p.kernel) + " int16_dfp " + shape, p.dfp);
      add({p.kernel, "int16_dfp", shape, isa_name, td, s.flops(), "speedup", tf.median_s / td.median_s,
           "operands already quantized and packed (dfp_pack_*); value: oneDNN f32 time / this", false});
      f32_step += tf.median_s;
      dfp_step += td.median_s;
    }
    // The quantize-and-pack passes (each tensor once per step, read by two products).
    const std::pair<const char*, std::function<void()>> packs[] = {
        {"dfp_pack_input", [&] { dfp_pack_input(s, x.data(), qx); }},
        {"dfp_pack_weights", [&] { dfp_pack_weights(s, w.data(), qw); }},
        {"dfp_pack_grad_output", [&] { dfp_pack_grad_output(s, dy.data(), qdy); }},
    };
    for (const auto& [name, work] : packs) {
      const LowpTiming t = timer(std::string(name) + " " + shape, work);
      add({name, "int16_dfp", shape, isa_name, t, 0, "", nan, "f32 -> int16 DFP (exponent pass + quantize into the kernel layout)",
           false});
      dfp_step += t.median_s;
    }
    LowpTiming tf, td;
    tf.median_s = f32_step, td.median_s = dfp_step;
    tf.repetitions = td.repetitions = 1;
    add({"conv_layer_step", "f32", shape, "onednn", tf, 3 * s.flops(), "", nan, "sum of the fwd, bwd-data, bwd-weights medians",
         false});
    add({"conv_layer_step", "int16_dfp", shape, isa_name, td, 3 * s.flops(), "speedup", f32_step / dfp_step,
         "3 products + quantizing x, w, dy once (sum of medians); value: f32 time / this", false});
  }
}

}  // namespace paradnn::cpu::lowp
