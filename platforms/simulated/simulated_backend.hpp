// The simulated accelerators: TPU generations (`tpu:v3-8`) and GPUs (`gpu-model:v100`)
// predicted by the step model (platforms/model/step_model.hpp), every row `simulated`; with
// measure_host the infeed ceiling is this machine's measured host pipeline (host_infeed.hpp)
// instead of the spec's figure.
#pragma once
#include <memory>
#include <string>

#include "platforms/backend.hpp"

namespace paradnn::simulated {

// spec_text: what follows "tpu:" ("v3", "v3-8", "v5e-4", "my_chip.yaml"). InputError if unknown.
std::unique_ptr<Backend> make_tpu_backend(const std::string& spec_text, bool measure_host);
// spec_text: what follows "gpu-model:" ("v100", "a100", "h100", "h200", "my_gpu.yaml").
std::unique_ptr<Backend> make_gpu_model_backend(const std::string& spec_text, bool measure_host);

}  // namespace paradnn::simulated
