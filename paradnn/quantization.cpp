#include "paradnn/quantization.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "paradnn/error.hpp"

namespace paradnn {

std::string_view to_string(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::max: return "max";
    case CalibrationMethod::percentile: return "percentile";
    case CalibrationMethod::kl: return "kl";
  }
  return "?";
}

std::string CalibrationOptions::describe() const {
  const std::string m = method == CalibrationMethod::percentile ? fmt::format("percentile{:g}", percentile)
                                                                : std::string(to_string(method));
  return fmt::format("{}/{}", m, batches);
}

// --- config ---------------------------------------------------------------------------

namespace {

std::string where(const YAML::Node& n, const std::string& source) {
  const YAML::Mark m = n.Mark();
  return m.line >= 0 ? fmt::format("{}:{}:{}", source, m.line + 1, m.column + 1) : source;
}

[[noreturn]] void fail(const YAML::Node& n, const std::string& source, const std::string& key, const std::string& what) {
  throw InputError(where(n, source) + ": key '" + key + "': " + what);
}

void only_keys(const YAML::Node& n, const std::string& source, const std::string& key, const std::set<std::string>& ok) {
  if (!n.IsMap()) fail(n, source, key, "expected a mapping");
  for (const auto& kv : n)
    if (!ok.count(kv.first.Scalar())) {
      std::string list;
      for (const auto& a : ok) list += (list.empty() ? "" : ", ") + a;
      fail(kv.first, source, key + "." + kv.first.Scalar(), "unknown key (expected one of: " + list + ")");
    }
}

std::vector<LayerSelector> selectors(const YAML::Node& n, const std::string& source, const std::string& key) {
  std::vector<LayerSelector> out;
  if (n.IsScalar()) return {{n.Scalar(), where(n, source)}};
  if (!n.IsSequence()) fail(n, source, key, "expected a list of layers (first, last, an index or a layer name)");
  for (const auto& v : n) {
    if (!v.IsScalar() || v.Scalar().empty()) fail(v, source, key, "expected first, last, an index or a layer name");
    out.push_back({v.Scalar(), where(v, source)});
  }
  return out;
}

int positive_int(const YAML::Node& n, const std::string& source, const std::string& key) {
  int v = 0;
  try {
    v = n.as<int>();
  } catch (const YAML::Exception&) {
    fail(n, source, key, "expected an integer");
  }
  if (v < 1) fail(n, source, key, "must be >= 1");
  return v;
}

}  // namespace

QuantizationConfig parse_quantization(const YAML::Node& precision, const YAML::Node& calibration,
                                      const std::string& source) {
  QuantizationConfig q;
  if (precision) {
    only_keys(precision, source, "precision", {"default", "keep_f32", "int8"});
    if (const YAML::Node d = precision["default"]) {
      if (d.Scalar() == "int8") q.policy.default_dtype = DType::int8;
      else if (d.Scalar() == "f32") q.policy.default_dtype = DType::f32;
      else fail(d, source, "precision.default", "'" + d.Scalar() + "' is not int8 or f32");
    }
    if (precision["keep_f32"]) q.policy.keep_f32 = selectors(precision["keep_f32"], source, "precision.keep_f32");
    if (precision["int8"]) q.policy.int8 = selectors(precision["int8"], source, "precision.int8");
    if (q.policy.default_dtype == DType::int8 && precision["int8"])
      fail(precision["int8"], source, "precision.int8", "with default int8 every layer is int8; list exceptions in keep_f32");
    if (q.policy.default_dtype == DType::f32 && precision["keep_f32"])
      fail(precision["keep_f32"], source, "precision.keep_f32", "with default f32 list the int8 layers under 'int8'");
  }
  if (calibration) {
    only_keys(calibration, source, "calibration", {"method", "batches", "percentile", "eval_batches"});
    CalibrationOptions& c = q.calibration;
    if (const YAML::Node m = calibration["method"]) {
      if (m.Scalar() == "max") c.method = CalibrationMethod::max;
      else if (m.Scalar() == "percentile") c.method = CalibrationMethod::percentile;
      else if (m.Scalar() == "kl") c.method = CalibrationMethod::kl;
      else fail(m, source, "calibration.method", "'" + m.Scalar() + "' is not one of: max, percentile, kl");
    }
    if (calibration["batches"]) c.batches = positive_int(calibration["batches"], source, "calibration.batches");
    if (calibration["eval_batches"])
      c.eval_batches = positive_int(calibration["eval_batches"], source, "calibration.eval_batches");
    if (const YAML::Node p = calibration["percentile"]) {
      try {
        c.percentile = p.as<double>();
      } catch (const YAML::Exception&) {
        fail(p, source, "calibration.percentile", "expected a number");
      }
      if (!(c.percentile > 0 && c.percentile <= 100)) fail(p, source, "calibration.percentile", "must be in (0, 100]");
    }
  }
  return q;
}

// --- policy ---------------------------------------------------------------------------

std::vector<int> quantizable_layers(const Graph& g) {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    const OpKind k = g.op(i).kind;
    if (k == OpKind::dense || k == OpKind::conv || k == OpKind::rnn) out.push_back(i);
  }
  return out;
}

namespace {

size_t resolve(const Graph& g, const std::vector<int>& layers, const LayerSelector& s) {
  const auto n = static_cast<int64_t>(layers.size());
  if (n == 0) throw InputError(s.where + ": precision: the model has no dense, conv or rnn layer");
  if (s.text == "first") return 0;
  if (s.text == "last") return static_cast<size_t>(n - 1);
  char* end = nullptr;
  const long v = std::strtol(s.text.c_str(), &end, 10);
  if (end && *end == 0) {
    if (v >= n || v < -n)
      throw InputError(fmt::format("{}: precision: layer index {} is out of range (model {} has {} quantizable layers)",
                                   s.where, v, g.name, n));
    return static_cast<size_t>(v < 0 ? n + v : v);
  }
  for (size_t k = 0; k < layers.size(); ++k)
    if (g.op(layers[k]).name == s.text) return k;
  throw InputError(fmt::format("{}: precision: no layer named '{}' in model {}", s.where, s.text, g.name));
}

}  // namespace

std::vector<bool> int8_layers(const Graph& g, const PrecisionPolicy& p) {
  const std::vector<int> layers = quantizable_layers(g);
  std::vector<bool> out(layers.size(), p.default_dtype == DType::int8);
  for (const LayerSelector& s : p.keep_f32) out[resolve(g, layers, s)] = false;
  for (const LayerSelector& s : p.int8) out[resolve(g, layers, s)] = true;
  return out;
}

void apply_precision(Graph& g, const std::vector<bool>& layers) {
  if (g.dtype != DType::int8) return;
  const std::vector<int> q = quantizable_layers(g);
  if (layers.size() != q.size()) throw std::logic_error("apply_precision: one entry per quantizable layer expected");
  const std::vector<int> consumers = g.consumer_counts();
  for (Op& op : g.ops)
    if (op.dtype != DType::s32) op.dtype = DType::f32;
  for (size_t k = 0; k < q.size(); ++k)
    if (layers[k]) g.ops[static_cast<size_t>(q[k])].dtype = DType::int8;
  for (Op& op : g.ops)  // a ReLU fused into an int8 producer shares its dtype
    if (op.kind == OpKind::relu && g.op(op.inputs.at(0)).dtype == DType::int8 &&
        consumers[static_cast<size_t>(op.inputs[0])] == 1)
      op.dtype = DType::int8;
  g.finalize();
}

std::string describe_precision(const Graph& g) {
  if (g.dtype != DType::int8) return "";
  const std::vector<int> q = quantizable_layers(g);
  int n8 = 0;
  std::string f32;
  for (int i : q) {
    if (g.op(i).dtype == DType::int8) ++n8;
    else f32 += " " + g.op(i).name;
  }
  return fmt::format("int8 {}/{}", n8, q.size()) + (f32.empty() ? "" : "; f32:" + f32);
}

namespace {

bool nonnegative(const Graph& g, int t) {
  const Op& p = g.op(t);
  switch (p.kind) {
    case OpKind::relu: return true;
    case OpKind::max_pool:
    case OpKind::avg_pool:
    case OpKind::reshape:
    case OpKind::upsample: return nonnegative(g, p.inputs.at(0));
    case OpKind::concat:
      return std::all_of(p.inputs.begin(), p.inputs.end(), [&](int x) { return nonnegative(g, x); });
    default: return false;
  }
}

}  // namespace

bool input_nonnegative(const Graph& g, int i) { return nonnegative(g, g.op(i).inputs.at(0)); }

// --- rounding -------------------------------------------------------------------------

int8_t quantize_s8(float x, float scale) {
  const float q = std::round(x / scale);
  return static_cast<int8_t>(std::clamp(q, -127.f, 127.f));
}

uint8_t quantize_u8(float x, float scale) {
  const float q = std::round(x / scale);
  return static_cast<uint8_t>(std::clamp(q, 0.f, 255.f));
}

std::vector<float> weight_scales(const std::vector<float>& w, int64_t channels) {
  const size_t per = w.size() / static_cast<size_t>(channels);
  std::vector<float> s(static_cast<size_t>(channels));
  for (size_t c = 0; c < s.size(); ++c) {
    float m = 0;
    for (size_t k = 0; k < per; ++k) m = std::max(m, std::fabs(w[c * per + k]));
    s[c] = m > 0 ? m / 127.f : 1.f;
  }
  return s;
}

// --- calibration ----------------------------------------------------------------------

void Histogram::add(const float* x, size_t n) {
  const double inv = max_abs > 0 ? static_cast<double>(counts.size()) / max_abs : 0;
  const size_t last = counts.size() - 1;
  for (size_t k = 0; k < n; ++k) {
    if (skip_zeros && x[k] == 0.f) continue;
    const size_t b = static_cast<size_t>(std::fabs(x[k]) * inv);
    counts[std::min(b, last)] += 1;
  }
}

double threshold_max(const Histogram& h) { return h.max_abs; }

double threshold_percentile(const Histogram& h, double percentile) {
  double total = 0;
  for (double c : h.counts) total += c;
  const double want = total * percentile / 100.0;
  double seen = 0;
  for (size_t b = 0; b < h.counts.size(); ++b) {
    seen += h.counts[b];
    if (seen >= want) return static_cast<double>(b + 1) * h.bin_width();
  }
  return h.max_abs;
}

namespace {

// KL(P || Q) of two unnormalized distributions (normalized here); Q == 0 where P > 0 is
// avoided by the caller's smoothing.
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  double sp = 0, sq = 0;
  for (size_t k = 0; k < p.size(); ++k) sp += p[k], sq += q[k];
  if (sp <= 0 || sq <= 0) return std::numeric_limits<double>::infinity();
  double d = 0;
  for (size_t k = 0; k < p.size(); ++k) {
    if (p[k] <= 0) continue;
    const double pk = p[k] / sp, qk = q[k] / sq;
    d += qk > 0 ? pk * std::log(pk / qk) : pk * std::log(pk / 1e-12);  // empty Q bins: a large penalty
  }
  return d;
}

}  // namespace

double threshold_kl(const Histogram& h, int levels) {
  const size_t bins = h.counts.size(), nq = static_cast<size_t>(levels);
  if (bins <= nq) return h.max_abs;
  size_t best = bins;
  double best_kl = std::numeric_limits<double>::infinity();
  std::vector<double> p, q;
  for (size_t i = nq; i <= bins; ++i) {
    // Reference: the first i bins, with everything clipped away added to the last one.
    p.assign(h.counts.begin(), h.counts.begin() + static_cast<std::ptrdiff_t>(i));
    double outliers = 0;
    for (size_t k = i; k < bins; ++k) outliers += h.counts[k];
    p[i - 1] += outliers;
    // Candidate: the first i bins merged into nq levels, each level's mass spread evenly over
    // its nonzero source bins.
    q.assign(i, 0.0);
    const double per = static_cast<double>(i) / static_cast<double>(nq);
    for (size_t j = 0; j < nq; ++j) {
      const size_t b0 = static_cast<size_t>(std::floor(static_cast<double>(j) * per));
      const size_t b1 = j + 1 == nq ? i : static_cast<size_t>(std::floor(static_cast<double>(j + 1) * per));
      double mass = 0;
      size_t nonzero = 0;
      for (size_t k = b0; k < b1; ++k) {
        mass += h.counts[k];
        nonzero += h.counts[k] > 0;
      }
      if (nonzero == 0) continue;
      for (size_t k = b0; k < b1; ++k)
        if (h.counts[k] > 0) q[k] = mass / static_cast<double>(nonzero);
    }
    const double d = kl_divergence(p, q);
    if (d < best_kl) {
      best_kl = d;
      best = i;
    }
  }
  return (static_cast<double>(best) + 0.5) * h.bin_width() > h.max_abs ? h.max_abs
                                                                        : (static_cast<double>(best) + 0.5) * h.bin_width();
}

double threshold(const Histogram& h, const CalibrationOptions& o, int levels) {
  switch (o.method) {
    case CalibrationMethod::max: return threshold_max(h);
    case CalibrationMethod::percentile: return threshold_percentile(h, o.percentile);
    case CalibrationMethod::kl: return threshold_kl(h, levels);
  }
  return h.max_abs;
}

// --- fidelity -------------------------------------------------------------------------

std::vector<int64_t> argmax_rows(const std::vector<float>& x, int64_t classes) {
  const size_t rows = x.size() / static_cast<size_t>(classes);
  std::vector<int64_t> out(rows);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = x.data() + r * static_cast<size_t>(classes);
    out[r] = std::max_element(row, row + classes) - row;
  }
  return out;
}

void FidelityAccumulator::add(const std::vector<float>& reference, const std::vector<float>& test, int64_t classes) {
  if (reference.size() != test.size() || classes < 1 || reference.size() % static_cast<size_t>(classes))
    throw std::invalid_argument("fidelity: logits of different shapes");
  const auto a = argmax_rows(reference, classes), b = argmax_rows(test, classes);
  for (size_t r = 0; r < a.size(); ++r) agree_ += a[r] == b[r];
  rows_ += static_cast<int64_t>(a.size());
  for (size_t k = 0; k < reference.size(); ++k) {
    const double d = static_cast<double>(test[k]) - reference[k];
    err2_ += d * d;
    ref2_ += static_cast<double>(reference[k]) * reference[k];
  }
}

double FidelityAccumulator::relative_l2() const { return ref2_ > 0 ? std::sqrt(err2_ / ref2_) : 0; }

}  // namespace paradnn
