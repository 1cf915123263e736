// Stacked recurrent layers (vanilla tanh RNN, LSTM, GRU) as one oneDNN RNN primitive over
// the whole sequence, all layers at once (hidden size equals input size, as the IR's rnn
// op guarantees). The backward primitive may want other weight layouts than the forward:
// that conversion is a reorder call of its own, so its cost is visible per op.
#include <cmath>
#include <cstring>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

namespace {

struct RnnDescs {
  memory::desc src, w_layer, w_iter, bias, dst;  // weights `any`
  memory::desc state, cell_state;                // [L, 1, N, H] initial and final states
  memory::desc diff_state;                       // their gradients
  memory::desc diff_src, diff_dst;               // oneDNN wants every gradient in f32, also for bf16 cells
};

struct RnnPds {
  dnnl::primitive fwd, bwd;
  dnnl::rnn_primitive_desc_base fwd_pd, bwd_pd;
};

RnnPds make_pds(RnnCell cell, bool training, const RnnDescs& d, const dnnl::engine& e) {
  const auto prop = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const auto dir = dnnl::rnn_direction::unidirectional_left2right;
  const memory::desc &st = d.state, &cst = d.cell_state, &dst_ = d.diff_state;
  const dnnl::primitive_attr attr = make_attr();
  const memory::desc w_l(d.w_layer.dims(), Dt::f32, Tag::any), w_i(d.w_iter.dims(), Dt::f32, Tag::any);
  RnnPds p;
  switch (cell) {
    case RnnCell::rnn: {
      const auto act = dnnl::algorithm::eltwise_tanh;
      dnnl::vanilla_rnn_forward::primitive_desc f({prop, act, dir, d.src, st, d.w_layer, d.w_iter, d.bias, d.dst, st}, attr, e);
      p.fwd = dnnl::vanilla_rnn_forward(f);
      p.fwd_pd = f;
      if (!training) break;
      dnnl::vanilla_rnn_backward::primitive_desc b({dnnl::prop_kind::backward, act, dir, d.src, st, d.w_layer, d.w_iter, d.bias,
                                                    d.dst, st, d.diff_src, dst_, w_l, w_i, d.bias, d.diff_dst, dst_},
                                                   attr, e, f);
      p.bwd = dnnl::vanilla_rnn_backward(b);
      p.bwd_pd = b;
      break;
    }
    case RnnCell::lstm: {
      dnnl::lstm_forward::primitive_desc f({prop, dir, d.src, st, cst, d.w_layer, d.w_iter, d.bias, d.dst, st, cst}, attr, e);
      p.fwd = dnnl::lstm_forward(f);
      p.fwd_pd = f;
      if (!training) break;
      dnnl::lstm_backward::primitive_desc b({dnnl::prop_kind::backward, dir, d.src, st, cst, d.w_layer, d.w_iter, d.bias, d.dst,
                                             st, cst, d.diff_src, dst_, cst, w_l, w_i, d.bias, d.diff_dst, dst_, cst},
                                            attr, e, f);
      p.bwd = dnnl::lstm_backward(b);
      p.bwd_pd = b;
      break;
    }
    case RnnCell::gru: {
      dnnl::gru_forward::primitive_desc f({prop, dir, d.src, st, d.w_layer, d.w_iter, d.bias, d.dst, st}, attr, e);
      p.fwd = dnnl::gru_forward(f);
      p.fwd_pd = f;
      if (!training) break;
      dnnl::gru_backward::primitive_desc b({dnnl::prop_kind::backward, dir, d.src, st, d.w_layer, d.w_iter, d.bias, d.dst, st,
                                            d.diff_src, dst_, w_l, w_i, d.bias, d.diff_dst, dst_},
                                           attr, e, f);
      p.bwd = dnnl::gru_backward(b);
      p.bwd_pd = b;
      break;
    }
  }
  return p;
}

}  // namespace

RnnWeights add_rnn_weights(Lowering& ctx, int i, const memory::desc& w_layer, const memory::desc& w_iter) {
  const Op& op = ctx.graph().op(i);
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const int64_t c = in[2], h = op.out[2], layers = op.layers, g = gates(op.cell);
  // The IR keeps per layer w_x [G*H, C], w_h [G*H, H], bias [G*H]: oneDNN's ldgoi / ldgo order.
  const float bound = 1.0f / std::sqrt(static_cast<float>(h));
  ParamStore& ps = ctx.params();
  const dnnl::engine& e = ctx.engine();
  const memory::desc bias({layers, 1, g, h}, Dt::f32, Tag::ldgo);
  RnnWeights w;
  w.layer = &ps.add(e, ctx.stream(), i, op.name + ".w_x", memory::desc({layers, 1, c, g, h}, Dt::f32, Tag::ldgoi), w_layer, bound);
  w.iter = &ps.add(e, ctx.stream(), i, op.name + ".w_h", memory::desc({layers, 1, h, g, h}, Dt::f32, Tag::ldgoi), w_iter, bound);
  w.bias = &ps.add(e, ctx.stream(), i, op.name + ".bias", bias, bias, bound);
  for (int64_t l = 0; l < layers; ++l) {
    const std::string pre = op.name + ".l" + std::to_string(l);
    w.layer->views[pre + ".w_x"] = static_cast<size_t>(l * g * h * c);
    w.iter->views[pre + ".w_h"] = static_cast<size_t>(l * g * h * h);
    w.bias->views[pre + ".bias"] = static_cast<size_t>(l * g * h);
  }
  return w;
}

void build_rnn(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dt t = to_dnnl(op.dtype);
  const Dims& in = ctx.graph().dims_of(op.inputs.at(0));
  const int64_t steps = in[0], batch = in[1], c = in[2], h = op.out[2], layers = op.layers, g = gates(op.cell);
  if (layers > 1 && c != h) throw std::invalid_argument(op.name + ": stacked layers need input size == hidden size");
  RnnDescs d{memory::desc({steps, batch, c}, t, Tag::tnc), memory::desc({layers, 1, c, g, h}, t, Tag::any),
             memory::desc({layers, 1, h, g, h}, t, Tag::any), memory::desc({layers, 1, g, h}, Dt::f32, Tag::ldgo),
             memory::desc({steps, batch, h}, t, Tag::tnc), memory::desc({layers, 1, batch, h}, t, Tag::ldnc),
             op.cell == RnnCell::lstm ? memory::desc({layers, 1, batch, h}, Dt::f32, Tag::ldnc) : memory::desc(),
             memory::desc({layers, 1, batch, h}, Dt::f32, Tag::ldnc), memory::desc({steps, batch, c}, Dt::f32, Tag::tnc),
             memory::desc({steps, batch, h}, Dt::f32, Tag::tnc)};
  const bool training = ctx.training();
  RnnPds p = make_pds(op.cell, training, d, e);

  memory x = ctx.input(i, 0, d.src);
  memory y = ctx.new_output(i, d.dst);
  const RnnWeights w = add_rnn_weights(ctx, i, p.fwd_pd.weights_layer_desc(), p.fwd_pd.weights_iter_desc());
  Weight &wl = *w.layer, &wi = *w.iter, &b = *w.bias;
  ParamStore& ps = ctx.params();
  // Explicit zero initial states (and a place for the final ones): oneDNN 2.6's reference
  // backward gets the last layer's weights_iter gradient wrong when the states are omitted.
  auto zeros = [&](const memory::desc& md) {
    memory m(md, e);
    if (!md.is_zero()) std::memset(m.get_data_handle(), 0, md.get_size());
    return m;
  };
  const memory h0 = zeros(d.state), c0 = zeros(d.cell_state), h_end = zeros(d.state), c_end = zeros(d.cell_state);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC_LAYER, x},  {DNNL_ARG_WEIGHTS_LAYER, wl.w}, {DNNL_ARG_WEIGHTS_ITER, wi.w},
                                          {DNNL_ARG_BIAS, b.w},     {DNNL_ARG_DST_LAYER, y},        {DNNL_ARG_SRC_ITER, h0},
                                          {DNNL_ARG_DST_ITER, h_end}};
  if (op.cell == RnnCell::lstm) args[DNNL_ARG_SRC_ITER_C] = c0, args[DNNL_ARG_DST_ITER_C] = c_end;
  memory ws;
  if (training) {
    ws = ctx.scratch(i, Span::to_backward, p.fwd_pd.workspace_desc());
    args[DNNL_ARG_WORKSPACE] = ws;
  }
  ctx.add(i, Phase::fwd, p.fwd, p.fwd_pd, args);
  if (!training) return;

  const dnnl::rnn_primitive_desc_base& bd = p.bwd_pd;
  const memory wl_b = ctx.in_layout(i, true, op.name + ".w_x", wl.w, bd.weights_layer_desc());
  const memory wi_b = ctx.in_layout(i, true, op.name + ".w_h", wi.w, bd.weights_iter_desc());
  ps.train(e, ctx.stream(), wl, bd.diff_weights_layer_desc(), ctx.graph().optimizer);
  ps.train(e, ctx.stream(), wi, bd.diff_weights_iter_desc(), ctx.graph().optimizer);
  ps.train(e, ctx.stream(), b, bd.diff_bias_desc(), ctx.graph().optimizer);
  // The RNN backward primitive accumulates into its weight gradients: clear them first.
  std::vector<std::pair<void*, size_t>> grads;
  for (Weight* w : {&wl, &wi, &b}) grads.push_back({w->grad.get_data_handle(), w->grad.get_desc().get_size()});
  ctx.add_kernel(i, Phase::bwd, "paradnn:zero_grad", [grads] {
    for (const auto& [ptr, bytes] : grads) std::memset(ptr, 0, bytes);
  });
  memory dy = ctx.grad_as(i, bd.diff_dst_layer_desc());
  const bool wanted = ctx.needs_input_grad(i, 0);
  Sink s = wanted ? ctx.sink(i, 0, bd.diff_src_layer_desc()) : Sink{ctx.scratch(i, Span::backward, bd.diff_src_layer_desc()), 0, true};
  std::unordered_map<int, memory> bargs = {
      {DNNL_ARG_SRC_LAYER, x},          {DNNL_ARG_WEIGHTS_LAYER, wl_b},        {DNNL_ARG_WEIGHTS_ITER, wi_b},
      {DNNL_ARG_BIAS, b.w},             {DNNL_ARG_DST_LAYER, y},               {DNNL_ARG_WORKSPACE, ws},
      {DNNL_ARG_DIFF_DST_LAYER, dy},    {DNNL_ARG_DIFF_SRC_LAYER, s.mem},      {DNNL_ARG_DIFF_WEIGHTS_LAYER, wl.grad},
      {DNNL_ARG_DIFF_WEIGHTS_ITER, wi.grad}, {DNNL_ARG_DIFF_BIAS, b.grad},     {DNNL_ARG_SRC_ITER, h0},
      {DNNL_ARG_DST_ITER, h_end},       {DNNL_ARG_DIFF_DST_ITER, zeros(d.diff_state)}, {DNNL_ARG_DIFF_SRC_ITER, zeros(d.diff_state)}};
  if (op.cell == RnnCell::lstm) {
    bargs[DNNL_ARG_SRC_ITER_C] = c0, bargs[DNNL_ARG_DST_ITER_C] = c_end;
    bargs[DNNL_ARG_DIFF_DST_ITER_C] = zeros(d.cell_state), bargs[DNNL_ARG_DIFF_SRC_ITER_C] = zeros(d.cell_state);
  }
  ctx.add(i, Phase::bwd, p.bwd, bd, bargs);
  if (wanted) ctx.close(i, s);
}

}  // namespace paradnn::cpu
