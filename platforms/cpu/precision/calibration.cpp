#include "platforms/cpu/precision/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>

namespace paradnn::cpu {

namespace {

std::mutex cache_mutex;
std::map<std::string, std::vector<float>> cache;  // key -> input scale per int8 op, in graph order

std::vector<int> int8_ops(const Graph& g) {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) {
    const Op& op = g.op(i);
    if (op.dtype == DType::int8 && (op.kind == OpKind::dense || op.kind == OpKind::conv || op.kind == OpKind::rnn))
      out.push_back(i);
  }
  return out;
}

// The tensors whose range op i's data scale must cover: its input, and for a recurrent
// stack also its output, since one scale quantizes the input and every hidden state.
std::vector<int> calibrated_tensors(const Graph& g, int i) {
  if (g.op(i).kind == OpKind::rnn) return {g.op(i).inputs.at(0), i};
  return {g.op(i).inputs.at(0)};
}

}  // namespace

void calibrate(Graph& g, const CalibrationOptions& o, const std::string& cache_key, const Weights& weights,
               const Feeder& feed) {
  const Feeder put = feed ? feed : Feeder([](InferenceModel& m, uint64_t seed) { m.feed(seed); });
  const std::vector<int> ops = int8_ops(g);
  if (ops.empty()) return;
  std::string key;
  if (!cache_key.empty()) {
    key = cache_key + "|" + o.describe();
    for (int i : ops) key += "," + std::to_string(i);
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (const auto it = cache.find(key); it != cache.end()) {
      for (size_t k = 0; k < ops.size(); ++k) g.ops[static_cast<size_t>(ops[k])].quant.input_scale = it->second[k];
      return;
    }
  }
  // The activations seen by an int8 op are the f32 model's: calibrate on the f32 copy.
  InferenceModel ref(f32_copy(g), Mode::infer, weights);
  std::vector<double> max_abs(ops.size(), 0.0);
  for (int b = 0; b < o.batches; ++b) {
    put(ref, calibration_seed(b));
    ref.run();
    for (size_t k = 0; k < ops.size(); ++k)
      for (int t : calibrated_tensors(g, ops[k]))
        for (float v : ref.tensor(t)) max_abs[k] = std::max(max_abs[k], static_cast<double>(std::fabs(v)));
  }
  std::vector<Histogram> hist;
  for (size_t k = 0; k < ops.size(); ++k) {
    hist.emplace_back(max_abs[k] > 0 ? max_abs[k] : 1.0);
    hist.back().skip_zeros = input_nonnegative(g, ops[k]);
  }
  if (o.method != CalibrationMethod::max)
    for (int b = 0; b < o.batches; ++b) {
      put(ref, calibration_seed(b));
      ref.run();
      for (size_t k = 0; k < ops.size(); ++k)
        for (int t : calibrated_tensors(g, ops[k])) {
          const std::vector<float> x = ref.tensor(t);
          hist[k].add(x.data(), x.size());
        }
    }
  std::vector<float> scales(ops.size());
  for (size_t k = 0; k < ops.size(); ++k) {
    const bool u8 = input_nonnegative(g, ops[k]);
    const int levels = u8 ? 255 : 127;
    const double t = o.method == CalibrationMethod::max ? hist[k].max_abs : threshold(hist[k], o, levels + 1);
    scales[k] = static_cast<float>(std::max(t, 1e-12) / levels);
    g.ops[static_cast<size_t>(ops[k])].quant.input_scale = scales[k];
  }
  if (!key.empty()) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    cache[key] = scales;
  }
}

Fidelity measure_fidelity(const Graph& reduced, const CalibrationOptions& o, const Weights& weights) {
  InferenceModel ref(f32_copy(reduced), Mode::infer, weights);
  InferenceModel test(reduced, Mode::infer, weights);
  FidelityAccumulator acc;
  for (int b = 0; b < o.eval_batches; ++b) {
    ref.feed(evaluation_seed(b));
    test.feed(evaluation_seed(b));
    ref.run();
    test.run();
    acc.add(ref.tensor(ref.logits_op()), test.tensor(test.logits_op()), ref.classes());
  }
  return {acc.top1_agreement(), acc.relative_l2(), acc.rows()};
}

}  // namespace paradnn::cpu
