// Calibration and fidelity of int8 (and other reduced-precision) inference on the CPU,
// outside the timed region. Calibration runs the f32 model on seeded calibration batches
// and sets each int8 op's activation scale; fidelity compares the reduced-precision
// model's logits with the f32 model's on other seeded batches (evaluation batches).
#pragma once
#include <functional>
#include <string>

#include "paradnn/quantization.hpp"
#include "platforms/backend.hpp"
#include "platforms/cpu/precision/inference_model.hpp"

namespace paradnn::cpu {

// Seeds of the two batch families; they never overlap.
inline uint64_t calibration_seed(int b) { return 1000 + static_cast<uint64_t>(b); }
inline uint64_t evaluation_seed(int b) { return 500000 + static_cast<uint64_t>(b); }

// Sets Op::quant.input_scale of every int8 op of `g` (threshold by o.method over |x| of
// its input (and, for LSTM/GRU stacks, hidden states) in o.batches calibration batches,
// / 255 for u8 inputs or / 127 for s8).
// Results are cached in this process by `cache_key` (with the method and batch count) when
// it is not empty, so a point calibrates once however many variants of it run.
// `feed` puts calibration batch `seed` into the model (default: InferenceModel::feed(seed),
// seeded uniform data; a learnable task passes its own data).
using Feeder = std::function<void(InferenceModel&, uint64_t seed)>;
void calibrate(Graph& g, const CalibrationOptions& o, const std::string& cache_key = "", const Weights& weights = {},
               const Feeder& feed = {});

// `reduced` against its f32 copy on o.eval_batches evaluation batches.
Fidelity measure_fidelity(const Graph& reduced, const CalibrationOptions& o, const Weights& weights = {});

}  // namespace paradnn::cpu
