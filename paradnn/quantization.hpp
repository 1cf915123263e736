// Post-training quantization, backend-neutral: which layers of an int8 point compute in
// int8 (the precision policy), how activation scales are chosen from calibration data
// (max, percentile, KL over a histogram as TensorRT does), the int8 rounding itself, and
// the fidelity of a reduced-precision model against its f32 original.
//
// Scale convention (Op::quant): a real value x is stored as q = round(x / scale), so
// x ~= q * scale; `input_scale` is the activation scale of the op's input, and a weight of
// output channel c is stored with `weight_scales[c]`. Activations known to be >= 0 (after a
// ReLU) are u8 (0..255), others s8 (-127..127); weights are s8 (-127..127).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "paradnn/graph.hpp"

namespace paradnn {

enum class CalibrationMethod { max, percentile, kl };
std::string_view to_string(CalibrationMethod m);

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::kl;
  int batches = 8;             // seeded calibration batches (never the evaluation batches)
  double percentile = 99.99;   // for method percentile: the |x| percentile kept unclipped
  int eval_batches = 4;        // seeded evaluation batches for the fidelity columns
  std::string describe() const;  // e.g. "kl/8", "percentile99.99/8"
};

// One layer selector of a policy as written in the config, with where it was written.
struct LayerSelector {
  std::string text;   // "first", "last", an index (negative counts from the end) or a layer name
  std::string where;  // "file:line:col", for messages
};

// Which quantizable layers (dense, conv, rnn; see quantizable_layers) of an int8 point
// compute in int8. Every other op computes in f32.
struct PrecisionPolicy {
  DType default_dtype = DType::int8;     // int8: all except keep_f32; f32: only `int8`
  std::vector<LayerSelector> keep_f32;
  std::vector<LayerSelector> int8;
};

struct QuantizationConfig {
  PrecisionPolicy policy;
  CalibrationOptions calibration;
};

// Parses the config's `precision:` and `calibration:` sections (either may be null);
// errors name the file, line and key.
QuantizationConfig parse_quantization(const YAML::Node& precision, const YAML::Node& calibration,
                                      const std::string& source);

// Quantizable ops in graph order: dense, conv and rnn ops.
std::vector<int> quantizable_layers(const Graph& g);
// The layer indices (positions in quantizable_layers) the policy puts in int8; throws
// InputError naming the selector's file:line when it matches no layer.
std::vector<bool> int8_layers(const Graph& g, const PrecisionPolicy& p);
// Sets the precision of every op of an int8 graph: the chosen layers int8 (and a ReLU that
// follows one of them alone, so it stays fused), every other op f32; counts costs again.
// `layers` has one entry per quantizable layer. A graph whose dtype is not int8 is unchanged.
void apply_precision(Graph& g, const std::vector<bool>& layers);
// "int8 4/6; f32: fc1 classifier" (empty for a graph that is not int8).
std::string describe_precision(const Graph& g);

// Whether op i's input is known to be >= 0: it comes from a ReLU, through pools, reshapes
// and concats of such tensors. Such inputs are quantized to u8, others to s8.
bool input_nonnegative(const Graph& g, int i);

// int8 rounding (round half away from zero, saturating).
int8_t quantize_s8(float x, float scale);
uint8_t quantize_u8(float x, float scale);
inline float dequantize(int32_t q, float scale) { return static_cast<float>(q) * scale; }
// Per-output-channel weight scales: max |w| over each of `channels` equal rows / 127
// (1 for an all-zero row).
std::vector<float> weight_scales(const std::vector<float>& w, int64_t channels);

// Histogram of |x| over [0, max_abs] in `bins` bins (TensorRT uses 2048).
struct Histogram {
  double max_abs = 0;
  std::vector<double> counts;
  // Exact zeros (ReLU outputs) are quantized exactly whatever the threshold; counting them
  // would pull KL toward tiny thresholds, so u8 calibration leaves them out.
  bool skip_zeros = false;
  explicit Histogram(double max_abs, int bins = 2048) : max_abs(max_abs), counts(static_cast<size_t>(bins), 0.0) {}
  void add(const float* x, size_t n);
  double bin_width() const { return max_abs / static_cast<double>(counts.size()); }
};

// The clipping threshold T (activations clipped to [-T, T], scale = T / levels):
// max: max_abs; percentile: the p-th percentile of |x|; kl: the T minimizing the KL
// divergence between the clipped reference distribution and its `levels`-level quantized
// version (TensorRT's entropy calibration; 128 levels for s8).
double threshold_max(const Histogram& h);
double threshold_percentile(const Histogram& h, double percentile);
double threshold_kl(const Histogram& h, int levels = 128);
double threshold(const Histogram& h, const CalibrationOptions& o, int levels = 128);

// Fidelity of a reduced-precision model's logits against the f32 model's, over batches:
// top-1 agreement (share of rows whose argmax agrees) and relative L2 error ||y - y_ref|| / ||y_ref||.
class FidelityAccumulator {
 public:
  void add(const std::vector<float>& reference, const std::vector<float>& test, int64_t classes);
  double top1_agreement() const { return rows_ ? static_cast<double>(agree_) / static_cast<double>(rows_) : 0; }
  double relative_l2() const;
  int64_t rows() const { return rows_; }

 private:
  int64_t rows_ = 0, agree_ = 0;
  double err2_ = 0, ref2_ = 0;
};
// Argmax of each row of `classes` values.
std::vector<int64_t> argmax_rows(const std::vector<float>& x, int64_t classes);

}  // namespace paradnn
