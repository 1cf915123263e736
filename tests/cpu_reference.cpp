#include "cpu_reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace paradnn::reference {

namespace {

using Vec = std::vector<double>;

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

Vec dense(const Op& op, const Dims& in, const Vec& x, const Params& p) {
  const int64_t out = op.out.back();
  const int64_t features = in.size() == 4 ? in[1] * in[2] * in[3] : in.back();
  const int64_t rows = elements(in) / features;
  const Vec& w = p.at(op.params[0].name);
  Vec y(static_cast<size_t>(rows * out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double s = op.bias ? p.at(op.params[1].name)[static_cast<size_t>(o)] : 0;
      for (int64_t k = 0; k < features; ++k) s += x[static_cast<size_t>(r * features + k)] * w[static_cast<size_t>(o * features + k)];
      y[static_cast<size_t>(r * out + o)] = s;
    }
  return y;
}

Vec conv(const Op& op, const Dims& in, const Vec& x, const Params& p) {
  const int64_t n = in[0], c = in[1], h = in[2], wd = in[3], o = op.out[1], oh = op.out[2], ow = op.out[3];
  const int64_t g = op.groups, cg = c / g, og = o / g, k = op.kernel;
  const Vec& w = p.at(op.params[0].name);
  Vec y(static_cast<size_t>(elements(op.out)));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = op.bias ? p.at(op.params[1].name)[static_cast<size_t>(oc)] : 0;
          const int64_t grp = oc / og;
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t u = 0; u < k; ++u)
              for (int64_t v = 0; v < k; ++v) {
                const int64_t yi = i * op.stride - op.pad + u, xj = j * op.stride - op.pad + v;
                if (yi < 0 || yi >= h || xj < 0 || xj >= wd) continue;
                const int64_t cin = grp * cg + ic;
                s += x[static_cast<size_t>(((b * c + cin) * h + yi) * wd + xj)] * w[static_cast<size_t>(((oc * cg + ic) * k + u) * k + v)];
              }
          y[static_cast<size_t>(((b * o + oc) * oh + i) * ow + j)] = s;
        }
  return y;
}

Vec batch_norm(const Op& op, const Vec& x, const Params& p) {
  const int64_t n = op.out[0], c = op.out[1], sp = elements(op.out) / (n * c);
  const Vec& gamma = p.at(op.params[0].name);
  const Vec& beta = p.at(op.params[1].name);
  Vec y(x.size());
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean = 0, var = 0;
    auto at = [&](int64_t b, int64_t s) { return static_cast<size_t>((b * c + ch) * sp + s); };
    for (int64_t b = 0; b < n; ++b)
      for (int64_t s = 0; s < sp; ++s) mean += x[at(b, s)];
    mean /= static_cast<double>(n * sp);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t s = 0; s < sp; ++s) var += (x[at(b, s)] - mean) * (x[at(b, s)] - mean);
    var /= static_cast<double>(n * sp);
    const double inv = 1 / std::sqrt(var + 1e-5);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t s = 0; s < sp; ++s)
        y[at(b, s)] = gamma[static_cast<size_t>(ch)] * (x[at(b, s)] - mean) * inv + beta[static_cast<size_t>(ch)];
  }
  return y;
}

Vec pool(const Op& op, const Dims& in, const Vec& x) {
  const int64_t n = in[0], c = in[1], h = in[2], w = in[3], oh = op.out[2], ow = op.out[3], k = op.kernel;
  const bool max = op.kind == OpKind::max_pool;
  Vec y(static_cast<size_t>(elements(op.out)));
  for (int64_t b = 0; b < n * c; ++b)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = max ? -std::numeric_limits<double>::infinity() : 0;
        for (int64_t u = 0; u < k; ++u)
          for (int64_t v = 0; v < k; ++v) {
            const int64_t yi = i * op.stride - op.pad + u, xj = j * op.stride - op.pad + v;
            if (yi < 0 || yi >= h || xj < 0 || xj >= w) continue;  // padding: ignored by max, zero for average
            const double val = x[static_cast<size_t>((b * h + yi) * w + xj)];
            acc = max ? std::max(acc, val) : acc + val;
          }
        y[static_cast<size_t>((b * oh + i) * ow + j)] = max ? acc : acc / static_cast<double>(k * k);
      }
  return y;
}

Vec concat(const Graph& g, const Op& op, const Values& v) {
  const int64_t n = op.out[0], inner = elements(op.out) / (n * op.out[1]);
  Vec y(static_cast<size_t>(elements(op.out)));
  int64_t offset = 0;
  for (int x : op.inputs) {
    const int64_t c = g.dims_of(x)[1];
    const Vec& in = v.at(x);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t k = 0; k < c * inner; ++k)
        y[static_cast<size_t>((b * op.out[1] + offset) * inner + k)] = in[static_cast<size_t>(b * c * inner + k)];
    offset += c;
  }
  return y;
}

// Stacked cells with oneDNN's gate order (LSTM: i, f, c~, o; GRU: u, r, o), zero initial state.
Vec rnn(const Op& op, const Dims& in, const Vec& x0, const Params& p) {
  const int64_t steps = in[0], n = in[1], h = op.out[2];
  Vec x = x0;
  int64_t c_in = in[2];
  for (int64_t l = 0; l < op.layers; ++l) {
    const std::string pre = op.name + ".l" + std::to_string(l);
    const Vec &wx = p.at(pre + ".w_x"), &wh = p.at(pre + ".w_h"), &bias = p.at(pre + ".bias");
    Vec y(static_cast<size_t>(steps * n * h));
    Vec hs(static_cast<size_t>(n * h), 0.0), cs(static_cast<size_t>(n * h), 0.0);
    for (int64_t t = 0; t < steps; ++t) {
      Vec hn(hs.size());
      for (int64_t b = 0; b < n; ++b) {
        auto gate = [&](int64_t gi, int64_t o, const Vec& state) {
          const int64_t row = gi * h + o;
          double s = bias[static_cast<size_t>(row)];
          for (int64_t k = 0; k < c_in; ++k) s += wx[static_cast<size_t>(row * c_in + k)] * x[static_cast<size_t>((t * n + b) * c_in + k)];
          for (int64_t k = 0; k < h; ++k) s += wh[static_cast<size_t>(row * h + k)] * state[static_cast<size_t>(b * h + k)];
          return s;
        };
        Vec reset_h(static_cast<size_t>(n * h));
        if (op.cell == RnnCell::gru)
          for (int64_t k = 0; k < h; ++k) reset_h[static_cast<size_t>(b * h + k)] = sigmoid(gate(1, k, hs)) * hs[static_cast<size_t>(b * h + k)];
        for (int64_t o = 0; o < h; ++o) {
          const size_t at = static_cast<size_t>(b * h + o);
          if (op.cell == RnnCell::rnn) {
            hn[at] = std::tanh(gate(0, o, hs));
          } else if (op.cell == RnnCell::lstm) {
            const double i = sigmoid(gate(0, o, hs)), f = sigmoid(gate(1, o, hs)), cand = std::tanh(gate(2, o, hs)), og = sigmoid(gate(3, o, hs));
            cs[at] = f * cs[at] + i * cand;
            hn[at] = og * std::tanh(cs[at]);
          } else {
            const double u = sigmoid(gate(0, o, hs)), cand = std::tanh(gate(2, o, reset_h));
            hn[at] = u * hs[at] + (1 - u) * cand;
          }
        }
      }
      hs = hn;
      std::copy(hs.begin(), hs.end(), y.begin() + static_cast<std::ptrdiff_t>(t * n * h));
    }
    x = y;
    c_in = h;
  }
  return x;
}

double xent(const Dims& in, const Vec& logits, const std::vector<int32_t>& labels) {
  const int64_t classes = in.back(), rows = elements(in) / classes;
  double loss = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -std::numeric_limits<double>::infinity(), sum = 0;
    for (int64_t k = 0; k < classes; ++k) mx = std::max(mx, logits[static_cast<size_t>(r * classes + k)]);
    for (int64_t k = 0; k < classes; ++k) sum += std::exp(logits[static_cast<size_t>(r * classes + k)] - mx);
    loss -= logits[static_cast<size_t>(r * classes + labels.at(static_cast<size_t>(r)))] - mx - std::log(sum);
  }
  return loss / static_cast<double>(rows);
}

}  // namespace

double evaluate(const Graph& g, int from, Values& v, const Params& p, const std::vector<int32_t>& labels) {
  for (int i = from + 1; i < static_cast<int>(g.ops.size()); ++i) {
    const Op& op = g.op(i);
    const Dims& in = g.dims_of(op.inputs.at(0));
    const Vec& x = v.at(op.inputs.at(0));
    Vec y;
    switch (op.kind) {
      case OpKind::dense: y = dense(op, in, x, p); break;
      case OpKind::conv: y = conv(op, in, x, p); break;
      case OpKind::batch_norm: y = batch_norm(op, x, p); break;
      case OpKind::relu: y = x; for (double& e : y) e = std::max(e, 0.0); break;
      case OpKind::tanh: y = x; for (double& e : y) e = std::tanh(e); break;
      case OpKind::gelu:
        y = x;
        for (double& e : y) e = 0.5 * e * (1 + std::tanh(std::sqrt(2 / M_PI) * (e + 0.044715 * e * e * e)));
        break;
      case OpKind::max_pool:
      case OpKind::avg_pool: y = pool(op, in, x); break;
      case OpKind::add:
        y = x;
        for (size_t k = 1; k < op.inputs.size(); ++k)
          for (size_t e = 0; e < y.size(); ++e) y[e] += v.at(op.inputs[k])[e];
        break;
      case OpKind::concat: y = concat(g, op, v); break;
      case OpKind::rnn: y = rnn(op, in, x, p); break;
      case OpKind::embedding: {
        const Vec& table = p.at(op.params[0].name);
        const int64_t e = op.out.back();
        for (double id : x)
          y.insert(y.end(), table.begin() + static_cast<std::ptrdiff_t>(id) * e, table.begin() + (static_cast<std::ptrdiff_t>(id) + 1) * e);
        break;
      }
      case OpKind::softmax_xent: return xent(in, x, labels);
      case OpKind::layer_norm: y = layer_norm(in.back(), x, p.at(op.params[0].name), p.at(op.params[1].name)); break;
      case OpKind::batched_matmul:
        y = batched_matmul(in, g.dims_of(op.inputs.at(1)), op.transpose_b, x, v.at(op.inputs[1]));
        break;
      case OpKind::softmax: y = softmax(in, op.causal, x); break;
      case OpKind::upsample: y = upsample(in, op.kernel, x); break;
      case OpKind::reshape: y = x; break;
      case OpKind::transpose: y = permute(in, op.perm, x); break;
      case OpKind::focal_loss: return focal_loss(x, labels, elements(in) / in.back());
      default: throw std::invalid_argument("no reference for " + std::string(to_string(op.kind)));
    }
    v[i] = std::move(y);
  }
  throw std::invalid_argument("graph has no loss op");
}

Vec permute(const Dims& in, const std::vector<int>& perm, const Vec& x) {
  Dims out(in.size()), stride(in.size(), 1);
  for (size_t k = in.size() - 1; k > 0; --k) stride[k - 1] = stride[k] * in[k];
  for (size_t k = 0; k < in.size(); ++k) out[k] = in[static_cast<size_t>(perm[k])];
  Vec y(x.size());
  Dims idx(out.size(), 0);
  for (size_t o = 0; o < y.size(); ++o) {
    int64_t src = 0;
    for (size_t k = 0; k < out.size(); ++k) src += idx[k] * stride[static_cast<size_t>(perm[k])];
    y[o] = x[static_cast<size_t>(src)];
    for (size_t k = out.size(); k-- > 0;)
      if (++idx[k] < out[k]) break;
      else idx[k] = 0;
  }
  return y;
}

Vec upsample(const Dims& in, int64_t f, const Vec& x) {
  const int64_t nc = in[0] * in[1], h = in[2], w = in[3];
  Vec y(static_cast<size_t>(nc * h * f * w * f));
  for (int64_t q = 0; q < nc; ++q)
    for (int64_t i = 0; i < h * f; ++i)
      for (int64_t j = 0; j < w * f; ++j)
        y[static_cast<size_t>((q * h * f + i) * w * f + j)] = x[static_cast<size_t>((q * h + i / f) * w + j / f)];
  return y;
}

Vec batched_matmul(const Dims& da, const Dims& db, bool transpose_b, const Vec& a, const Vec& b) {
  const int64_t bs = da[0], m = da[1], k = da[2], n = transpose_b ? db[1] : db[2];
  Vec c(static_cast<size_t>(bs * m * n), 0.0);
  for (int64_t q = 0; q < bs; ++q)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t r = 0; r < k; ++r)
          s += a[static_cast<size_t>((q * m + i) * k + r)] *
               b[static_cast<size_t>(transpose_b ? (q * n + j) * k + r : (q * k + r) * n + j)];
        c[static_cast<size_t>((q * m + i) * n + j)] = s;
      }
  return c;
}

Vec softmax(const Dims& in, bool causal, const Vec& x) {
  const int64_t cols = in.back(), m = in[in.size() - 2], rows = elements(in) / cols;
  Vec y(x.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t keep = causal ? std::min(cols, r % m + 1) : cols;
    const double* row = &x[static_cast<size_t>(r * cols)];
    double mx = -std::numeric_limits<double>::infinity(), sum = 0;
    for (int64_t c = 0; c < keep; ++c) mx = std::max(mx, row[c]);
    for (int64_t c = 0; c < keep; ++c) sum += std::exp(row[c] - mx);
    for (int64_t c = 0; c < keep; ++c) y[static_cast<size_t>(r * cols + c)] = std::exp(row[c] - mx) / sum;
  }
  return y;
}

Vec layer_norm(int64_t cols, const Vec& x, const Vec& gamma, const Vec& beta) {
  Vec y(x.size());
  for (size_t r = 0; r < x.size() / static_cast<size_t>(cols); ++r) {
    const double* row = &x[r * static_cast<size_t>(cols)];
    double mean = 0, var = 0;
    for (int64_t c = 0; c < cols; ++c) mean += row[c] / static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c) var += (row[c] - mean) * (row[c] - mean) / static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c)
      y[r * static_cast<size_t>(cols) + static_cast<size_t>(c)] =
          gamma[static_cast<size_t>(c)] * (row[c] - mean) / std::sqrt(var + 1e-5) + beta[static_cast<size_t>(c)];
  }
  return y;
}

double focal_loss(const Vec& x, const std::vector<int32_t>& target, int64_t rows) {
  double loss = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    const double p = sigmoid(x[k]);
    loss -= target.at(k) ? 0.25 * (1 - p) * (1 - p) * std::log(p) : 0.75 * p * p * std::log(1 - p);
  }
  return loss / static_cast<double>(rows);
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::vector<double> central_differences(std::vector<double>& x, const std::function<double()>& f, double eps) {
  std::vector<double> g(x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    const double keep = x[k];
    x[k] = keep + eps;
    const double up = f();
    x[k] = keep - eps;
    const double down = f();
    x[k] = keep;
    g[k] = (up - down) / (2 * eps);
  }
  return g;
}

double rel_error(const std::vector<float>& got, const std::vector<double>& want) {
  if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
  double diff = 0, scale = 0;
  for (size_t k = 0; k < got.size(); ++k) {
    diff = std::max(diff, std::abs(got[k] - want[k]));
    scale = std::max(scale, std::abs(want[k]));
  }
  return scale > 0 ? diff / scale : std::numeric_limits<double>::infinity();
}

std::vector<double> vjp(const std::function<std::vector<double>(const std::vector<double>&)>& f, std::vector<double> x,
                        const std::vector<double>& dy) {
  return central_differences(x, [&] {
    const std::vector<double> y = f(x);
    double s = 0;
    for (size_t k = 0; k < y.size(); ++k) s += y[k] * dy[k];
    return s;
  }, 1e-4);
}

}  // namespace paradnn::reference
