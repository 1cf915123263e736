#include "paradnn/cost.hpp"

#include <stdexcept>

namespace paradnn {

GemmRows dense_gemm_rows(const Dims& in) {
  if (in.size() == 4) return {in[0], in[1] * in[2] * in[3]};
  if (in.empty()) throw std::logic_error("dense on a scalar");
  return {elements(in) / in.back(), in.back()};
}

double rnn_eltwise_flops_per_element(RnnCell c) {
  switch (c) {
    case RnnCell::rnn: return 2;    // bias add, tanh
    case RnnCell::lstm: return 13;  // 4 bias adds, 3 sigmoid, 2 tanh, c = f*c + i*g (3), h = o*tanh(c) (1)
    case RnnCell::gru: return 10;   // 3 bias adds, 2 sigmoid, 1 tanh, r*(.) (1), h = (1-z)*n + z*h (3)
  }
  return 0;
}

namespace {

constexpr double kF32 = 4;

double activation_flops(Activation a) {
  switch (a) {
    case Activation::none: return 0;
    case Activation::relu: return 1;
    case Activation::tanh: return 1;
    case Activation::gelu: return 8;
  }
  return 0;
}

struct Io {
  double in_elems = 0;   // all inputs together
  double out_elems = 0;
  double elem = 4;       // bytes per activation element at the op's dtype
  double in_bytes() const { return in_elems * elem; }
  double out_bytes() const { return out_elems * elem; }
};

// The common byte pattern of an op with weights: forward reads x and W and writes y;
// backward reads dy, x, W and writes dx (when wanted) and dW (f32).
void weighted_bytes(OpCost& c, const Io& io, double params, bool input_grad) {
  c.fwd_bytes = io.in_bytes() + params * io.elem + io.out_bytes();
  c.bwd_bytes = io.out_bytes() + io.in_bytes() + params * io.elem + (input_grad ? io.in_bytes() : 0) + params * kF32;
}

// Element-wise op: forward reads x, writes y; backward reads dy and x, writes dx.
void eltwise_bytes(OpCost& c, const Io& io) {
  c.fwd_bytes = io.in_bytes() + io.out_bytes();
  c.bwd_bytes = io.out_bytes() + 2 * io.in_bytes();
}

}  // namespace

OpCost count_cost(const Graph& g, const Op& op) {
  OpCost c;
  Io io;
  io.elem = static_cast<double>(size_of(op.dtype));
  for (int i : op.inputs) io.in_elems += static_cast<double>(elements(g.dims_of(i)));
  io.out_elems = static_cast<double>(elements(op.out));
  const double e = io.out_elems;
  double params = 0;
  for (const Param& p : op.params) params += static_cast<double>(elements(p.dims));
  const Dims* in0 = op.inputs.empty() ? nullptr : &g.dims_of(op.inputs[0]);

  switch (op.kind) {
    case OpKind::input:
    case OpKind::token_input:
      break;  // synthetic data is made outside the timed step
    case OpKind::dense: {
      const GemmRows r = dense_gemm_rows(*in0);
      const double m = static_cast<double>(op.out.back());
      const double gemm = 2.0 * static_cast<double>(r.rows) * static_cast<double>(r.features) * m;
      const double per_out = (op.bias ? 1 : 0) + activation_flops(op.post);
      c.fwd_flops = gemm + per_out * e;
      c.bwd_data_flops = (op.needs_input_grad ? gemm : 0) + activation_flops(op.post) * e;
      c.bwd_weight_flops = gemm + (op.bias ? e : 0);
      weighted_bytes(c, io, params, op.needs_input_grad);
      break;
    }
    case OpKind::conv: {
      const double k2 = static_cast<double>(op.kernel * op.kernel);
      const double macs = e * static_cast<double>((*in0)[1] / op.groups) * k2;
      const double per_out = (op.bias ? 1 : 0) + activation_flops(op.post);
      c.fwd_flops = 2 * macs + per_out * e;
      c.bwd_data_flops = (op.needs_input_grad ? 2 * macs : 0) + activation_flops(op.post) * e;
      c.bwd_weight_flops = 2 * macs + (op.bias ? e : 0);
      weighted_bytes(c, io, params, op.needs_input_grad);
      break;
    }
    case OpKind::batch_norm: {
      // forward: mean and variance (3/elem), normalize as one FMA plus shift (2/elem);
      // backward: dgamma, dbeta reductions (2/elem), dx (7/elem).
      c.fwd_flops = (5 + activation_flops(op.post)) * e;
      c.bwd_data_flops = (7 + activation_flops(op.post)) * e;
      c.bwd_weight_flops = 2 * e;
      weighted_bytes(c, io, params, true);
      c.saved_activation_bytes = 2 * static_cast<double>(op.out[1]) * kF32;  // mean, variance
      break;
    }
    case OpKind::relu:
    case OpKind::tanh:
    case OpKind::gelu: {
      const Activation a = op.kind == OpKind::relu ? Activation::relu : op.kind == OpKind::tanh ? Activation::tanh : Activation::gelu;
      c.fwd_flops = activation_flops(a) * e;
      c.bwd_data_flops = (a == Activation::relu ? 1 : a == Activation::tanh ? 3 : 12) * e;
      eltwise_bytes(c, io);
      break;
    }
    case OpKind::max_pool:
    case OpKind::avg_pool: {
      const double k2 = static_cast<double>(op.kernel * op.kernel);
      c.fwd_flops = k2 * e;  // one compare or add per window element
      c.bwd_data_flops = (op.kind == OpKind::max_pool ? 1 : k2) * e;
      eltwise_bytes(c, io);
      if (op.kind == OpKind::max_pool) c.saved_activation_bytes = e * 4;  // argmax indices
      break;
    }
    case OpKind::add:
      c.fwd_flops = (static_cast<double>(op.inputs.size()) - 1) * e;
      c.fwd_bytes = io.in_bytes() + io.out_bytes();
      c.bwd_bytes = io.out_bytes() + io.in_bytes();  // dy fans out to every input
      break;
    case OpKind::concat:
      c.fwd_bytes = io.in_bytes() + io.out_bytes();
      c.bwd_bytes = io.out_bytes() + io.in_bytes();
      break;
    case OpKind::embedding:
      // forward gathers T*N rows of the table; backward scatter-adds them into dW.
      c.fwd_bytes = io.in_elems * 4 + 2 * io.out_bytes();
      c.bwd_weight_flops = e;
      c.bwd_bytes = io.out_bytes() + io.in_elems * 4 + e * kF32;
      break;
    case OpKind::rnn: {
      const double t = static_cast<double>(op.out[0]), n = static_cast<double>(op.out[1]);
      const double h = static_cast<double>(op.out[2]), in = static_cast<double>((*in0)[2]);
      const double gh = gates(op.cell) * h;
      const double elt = rnn_eltwise_flops_per_element(op.cell) * t * n * h;
      for (int64_t l = 0; l < op.layers; ++l) {
        const double in_l = l == 0 ? in : h;
        const double x_gemm = 2 * t * n * gh * in_l, h_gemm = 2 * t * n * gh * h;
        c.fwd_flops += x_gemm + h_gemm + elt;
        c.bwd_data_flops += (l > 0 || op.needs_input_grad ? x_gemm : 0) + h_gemm + 2 * elt;
        c.bwd_weight_flops += x_gemm + h_gemm + t * n * gh;
        c.saved_activation_bytes += t * n * (gh + 2 * h) * io.elem;  // gates, states per layer
      }
      weighted_bytes(c, io, params, op.needs_input_grad);
      break;
    }
    case OpKind::softmax_xent:
      // forward: max, subtract, exp, sum, divide (5/elem), then -log p[label] per row;
      // backward: p - onehot, scaled by 1/rows (2/elem). Probabilities are kept in f32.
      c.fwd_flops = 5 * io.in_elems;
      c.bwd_data_flops = 2 * io.in_elems;
      c.fwd_bytes = io.in_bytes() + io.in_elems * kF32;
      c.bwd_bytes = io.in_elems * kF32 + io.in_bytes();
      c.saved_activation_bytes = io.in_elems * kF32;
      break;
    case OpKind::layer_norm:
      // like batch norm, over the last dim: statistics 3/elem, normalize 2/elem; backward 9/elem
      c.fwd_flops = 5 * e;
      c.bwd_data_flops = 7 * e;
      c.bwd_weight_flops = 2 * e;
      weighted_bytes(c, io, params, true);
      c.saved_activation_bytes = 2 * (e / static_cast<double>(op.out.back())) * kF32;  // mean, rstd per row
      break;
    case OpKind::batched_matmul: {
      const Dims& a = g.dims_of(op.inputs[0]);
      const double gemm = 2.0 * static_cast<double>(a[0] * a[1] * a[2]) * static_cast<double>(op.out[2]);
      c.fwd_flops = gemm;
      c.bwd_data_flops = 2 * gemm;  // gradients of both operands
      c.fwd_bytes = io.in_bytes() + io.out_bytes();
      c.bwd_bytes = io.out_bytes() + 2 * io.in_bytes();
      break;
    }
    case OpKind::softmax:
      // forward: max, subtract, exp, sum, divide; backward: dx = y * (dy - sum(dy * y)) (4/elem)
      c.fwd_flops = 5 * e;
      c.bwd_data_flops = 4 * e;
      c.fwd_bytes = io.in_bytes() + io.out_bytes();
      c.bwd_bytes = 3 * io.out_bytes();  // y, dy in; dx out
      break;
    case OpKind::upsample:
      c.bwd_data_flops = e;  // each output gradient added into its source pixel
      c.fwd_bytes = io.in_bytes() + io.out_bytes();
      c.bwd_bytes = io.out_bytes() + io.in_bytes();
      break;
    case OpKind::reshape:
      break;  // a view: no data moves
    case OpKind::transpose:
      c.fwd_bytes = io.in_bytes() + io.out_bytes();
      c.bwd_bytes = io.out_bytes() + io.in_bytes();
      break;
    case OpKind::focal_loss:
      // per logit: sigmoid (4), log terms (2), modulating factor (1-p)^gamma and alpha (4);
      // backward 12/elem. Targets come from anchor matching done outside the step.
      c.fwd_flops = 10 * io.in_elems;
      c.bwd_data_flops = 12 * io.in_elems;
      c.fwd_bytes = io.in_bytes() + io.in_elems * kF32;
      c.bwd_bytes = io.in_elems * kF32 + io.in_bytes();
      c.saved_activation_bytes = io.in_elems * kF32;
      break;
  }

  if (params > 0 && op.shares_params_with < 0) {
    const double state = optimizer_state_per_param(g.optimizer);
    c.weight_bytes = params * kF32 + (io.elem < kF32 ? params * io.elem : 0);  // f32 master + low-precision copy
    c.grad_bytes = params * kF32;
    c.optimizer_bytes = params * kF32 * state;
    c.update_flops = params * (2 + 2 * state + (g.optimizer == Optimizer::rmsprop ? 3 : 0));
    c.update_bytes = params * kF32 * (3 + 2 * state);  // read w, g, state; write w, state
  }
  c.output_bytes = (op.kind == OpKind::softmax_xent || op.kind == OpKind::focal_loss) ? kF32
                   : op.kind == OpKind::reshape                                     ? 0
                                                                                    : e * io.elem;
  return c;
}

}  // namespace paradnn
