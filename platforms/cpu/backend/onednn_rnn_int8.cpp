// int8 LSTM and GRU stacks (inference), as oneDNN's RNN primitive wants them: u8 data =
// x / scale + 128 for the input and every hidden state alike (one scale: the calibrated max
// of the input and the hidden states), s8 weights with one scale per gate and output channel
// (shared by w_x and w_h of all layers), f32 bias, f32 cell state and f32 output (the u8
// hidden state dequantized). oneDNN 2.6 has no int8 vanilla RNN cell.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

namespace {

constexpr float rnn_shift = 128.f;  // u8 128 is 0.0: the s8 range -127..127 shifted

// Per (gate, output channel) oneDNN weight scales (s8 = scale * w): 127 / the largest |w|
// of that gate row over w_x and w_h of every layer, both stored ldgoi (f32).
std::vector<float> rnn_weight_scales(const memory& w_x, const memory& w_h, int64_t layers, int64_t rows) {
  std::vector<float> max_abs(static_cast<size_t>(rows), 0.f);
  for (const memory* m : {&w_x, &w_h}) {
    const auto* w = static_cast<const float*>(m->get_data_handle());
    const int64_t per_row = static_cast<int64_t>(m->get_desc().get_size() / sizeof(float)) / (layers * rows);
    for (int64_t l = 0; l < layers; ++l)
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t k = 0; k < per_row; ++k) {
          float& mx = max_abs[static_cast<size_t>(r)];
          mx = std::max(mx, std::fabs(w[(l * rows + r) * per_row + k]));
        }
  }
  std::vector<float> scales(max_abs.size());
  for (size_t r = 0; r < scales.size(); ++r) scales[r] = max_abs[r] > 0 ? 127.f / max_abs[r] : 1.f;
  return scales;
}

// The RNN quantization attributes, scratchpad managed by the library (for one-off reorders)
// or by the CallList (for calls of the step).
dnnl::primitive_attr rnn_attr(float data_scale, const std::vector<float>& weight_scales, bool user_scratchpad) {
  dnnl::primitive_attr attr = user_scratchpad ? make_attr() : dnnl::primitive_attr();
  attr.set_rnn_data_qparams(data_scale, rnn_shift);
  attr.set_rnn_weights_qparams((1 << 3) | (1 << 4), weight_scales);
  return attr;
}

// f32 weights into the primitive's s8 layout, once; the reorder takes the RNN attributes
// because it also computes the compensation for the data shift.
// oneDNN 2.6 quantizes into the packed (brgemm) layouts only from ldigo, so the IR's ldgoi
// is reordered to ldigo first.
memory quantized_rnn_weights(Lowering& ctx, memory w, const memory::desc& want, const dnnl::primitive_attr& attr) {
  const dnnl::engine& e = ctx.engine();
  memory ldigo(memory::desc(w.get_desc().dims(), Dt::f32, Tag::ldigo), e), q(want, e);
  dnnl::reorder(w, ldigo).execute(ctx.stream(), w, ldigo);
  dnnl::reorder(dnnl::reorder::primitive_desc(e, ldigo.get_desc(), e, want, attr)).execute(ctx.stream(), ldigo, q);
  ctx.stream().wait();
  return q;
}

}  // namespace

void build_rnn_int8(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  check_int8_op(ctx, i);
  const dnnl::engine& e = ctx.engine();
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const int64_t steps = in[0], batch = in[1], c = in[2], h = op.out[2], layers = op.layers, g = gates(op.cell);
  if (layers > 1 && c != h) throw std::invalid_argument(op.name + ": stacked layers need input size == hidden size");
  if (op.cell == RnnCell::rnn) throw std::invalid_argument(op.name + ": oneDNN 2.6 has no int8 vanilla RNN cell");
  const memory::desc src({steps, batch, c}, Dt::u8, Tag::tnc), dst({steps, batch, h}, Dt::f32, Tag::tnc),
      w_layer({layers, 1, c, g, h}, Dt::s8, Tag::any), w_iter({layers, 1, h, g, h}, Dt::s8, Tag::any),
      bias({layers, 1, g, h}, Dt::f32, Tag::ldgo), none;
  // The f32 weights as initialized (or given), plain; their s8 copies are made below.
  const RnnWeights w = add_rnn_weights(ctx, i, memory::desc({layers, 1, c, g, h}, Dt::f32, Tag::ldgoi),
                                       memory::desc({layers, 1, h, g, h}, Dt::f32, Tag::ldgoi));
  const std::vector<float> w_scales = rnn_weight_scales(w.layer->w, w.iter->w, layers, g * h);
  const dnnl::primitive_attr attr = rnn_attr(1.f / op.quant.input_scale, w_scales, true),
                             once = rnn_attr(1.f / op.quant.input_scale, w_scales, false);
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto dir = dnnl::rnn_direction::unidirectional_left2right;
  dnnl::primitive prim;
  dnnl::rnn_primitive_desc_base pd;
  if (op.cell == RnnCell::lstm) {  // zero initial states: src_iter and src_iter_c omitted
    dnnl::lstm_forward::primitive_desc f({prop, dir, src, none, none, w_layer, w_iter, bias, dst, none, none}, attr, e);
    prim = dnnl::lstm_forward(f), pd = f;
  } else {
    dnnl::gru_forward::primitive_desc f({prop, dir, src, none, w_layer, w_iter, bias, dst, none}, attr, e);
    prim = dnnl::gru_forward(f), pd = f;
  }
  memory x = ctx.input(i, 0, ctx.input_desc(i, 0, Dt::f32));
  if (x.get_desc().data_type() != Dt::f32) throw std::logic_error(op.name + ": int8 ops take an f32 input");
  memory xq(src, e);
  ctx.add_quantize(i, op.name + ".in0:quantize", x, xq, attr);
  memory y = ctx.new_output(i, dst);
  ctx.add(i, Phase::fwd, prim, pd,
          {{DNNL_ARG_SRC_LAYER, xq},
           {DNNL_ARG_WEIGHTS_LAYER, quantized_rnn_weights(ctx, w.layer->w, pd.weights_layer_desc(), once)},
           {DNNL_ARG_WEIGHTS_ITER, quantized_rnn_weights(ctx, w.iter->w, pd.weights_iter_desc(), once)},
           {DNNL_ARG_BIAS, w.bias->w},
           {DNNL_ARG_DST_LAYER, y}});
}

}  // namespace paradnn::cpu
