#include "platforms/model/op_work.hpp"

#include <algorithm>
#include <cmath>

#include "paradnn/cost.hpp"

namespace paradnn::model {

namespace {

int64_t scaled(int64_t rows, double share) { return static_cast<int64_t>(std::ceil(double(rows) * share - 1e-9)); }

double param_elements(const Op& op) {
  double p = 0;
  for (const Param& q : op.params) p += static_cast<double>(elements(q.dims));
  return p;
}

// The GEMMs of a weighted op on one core, per repeat.
std::vector<Gemm> gemms_of(const Graph& g, const Op& op, Phase ph, double share) {
  const bool fwd = ph == Phase::fwd;
  switch (op.kind) {
    case OpKind::dense: {
      const GemmRows r = dense_gemm_rows(g.dims_of(op.inputs[0]));
      const int64_t m = scaled(r.rows, share), k = r.features, n = op.out.back();
      if (fwd) return {{m, k, n}};
      std::vector<Gemm> out{{n, m, k}};  // dW = dY^T X
      if (op.needs_input_grad) out.push_back({m, n, k});  // dX = dY W
      return out;
    }
    case OpKind::conv: {
      const Dims& in = g.dims_of(op.inputs[0]);
      const int64_t cin = in[1] / op.groups, cout = op.out[1] / op.groups;
      // XLA does not give one-channel groups (depthwise) to the MXU: the vector unit runs them.
      if (cin == 1) return {};
      const int64_t m = scaled(op.out[0] * op.out[2] * op.out[3], share), k = cin * op.kernel * op.kernel;
      if (fwd) return {{m, k, cout, op.groups}};  // im2col GEMM per group
      std::vector<Gemm> out{{cout, m, k, op.groups}};
      if (op.needs_input_grad) out.push_back({m, cout, k, op.groups});
      return out;
    }
    case OpKind::batched_matmul: {
      const Dims& a = g.dims_of(op.inputs[0]);
      const int64_t b = scaled(a[0], share), m = a[1], k = a[2], n = op.out[2];
      if (fwd) return {{m, k, n, b}};
      return {{m, n, k, b}, {k, m, n, b}};
    }
    default:
      return {};
  }
}

double gemm_flops(const std::vector<Gemm>& gs) {
  double f = 0;
  for (const Gemm& x : gs) f += x.flops();
  return f;
}

std::vector<Segment> rnn_work(const Graph& g, const Op& op, Phase ph, double share, double vmem_bytes) {
  const bool fwd = ph == Phase::fwd;
  const int64_t t = op.out[0], n = scaled(op.out[1], share), h = op.out[2];
  const int64_t in = g.dims_of(op.inputs[0])[2], gh = gates(op.cell) * h;
  const double elem = static_cast<double>(size_of(op.dtype));
  const double flops = (fwd ? op.cost.fwd_flops : op.cost.bwd_data_flops + op.cost.bwd_weight_flops) * share;
  const double bytes = fwd ? op.cost.fwd_bytes : op.cost.bwd_bytes;
  const double wbytes = weight_bytes_in_phase(op, ph);
  const double steps = static_cast<double>(t * op.layers);
  std::vector<Segment> out;
  double gemm_total = 0;
  for (int64_t l = 0; l < op.layers; ++l) {
    const int64_t in_l = l == 0 ? in : h;
    Segment s;
    s.repeats = t;
    if (fwd) {
      s.gemms = {{n, in_l, gh}, {n, h, gh}};
    } else {
      s.gemms = {{gh, n, in_l}, {gh, n, h}, {n, gh, h}};
      if (l > 0 || op.needs_input_grad) s.gemms.push_back({n, gh, in_l});
    }
    // One pass of traffic spread over the steps; weights that do not fit in vector memory
    // are read again at every step.
    const double layer_w = double(in_l + h) * double(gh) * elem;
    s.hbm_bytes = ((bytes - wbytes) * share + wbytes) / steps + (layer_w > vmem_bytes ? layer_w : 0);
    gemm_total += gemm_flops(s.gemms) * double(t);
    out.push_back(s);
  }
  const double vector = std::max(0.0, flops - gemm_total) / steps;
  for (Segment& s : out) s.vector_ops = vector;
  return out;
}

}  // namespace

double batch_share(int64_t batch, int cores) {
  if (batch <= 0 || cores <= 1) return 1;
  return static_cast<double>((batch + cores - 1) / cores) / static_cast<double>(batch);
}

double weight_bytes_in_phase(const Op& op, Phase ph) {
  // The ops whose OpCost uses the weighted byte pattern (cost.cpp): forward reads W at the
  // op's element size; backward reads W again and writes dW in f32.
  switch (op.kind) {
    case OpKind::dense:
    case OpKind::conv:
    case OpKind::batch_norm:
    case OpKind::layer_norm:
    case OpKind::rnn: {
      const double p = param_elements(op), elem = static_cast<double>(size_of(op.dtype));
      return ph == Phase::fwd ? p * elem : p * (elem + 4);
    }
    default:
      return 0;
  }
}

std::vector<Segment> op_work(const Graph& g, const Op& op, Phase ph, int cores, double vmem_bytes) {
  const double share = batch_share(g.batch, cores);
  if (op.kind == OpKind::rnn) return rnn_work(g, op, ph, share, vmem_bytes);
  const bool fwd = ph == Phase::fwd;
  const double flops = fwd ? op.cost.fwd_flops : op.cost.bwd_data_flops + op.cost.bwd_weight_flops;
  const double bytes = fwd ? op.cost.fwd_bytes : op.cost.bwd_bytes;
  const double wbytes = weight_bytes_in_phase(op, ph);
  Segment s;
  s.gemms = gemms_of(g, op, ph, share);
  s.vector_ops = std::max(0.0, flops * share - gemm_flops(s.gemms));
  s.hbm_bytes = (bytes - wbytes) * share + wbytes;
  return {s};
}

}  // namespace paradnn::model
