// The TPU-host backend: TPU generations predicted from the analytical model (tpu_model.hpp),
// every row `simulated`; with measure_host the infeed ceiling is this machine's measured
// host pipeline (host_infeed.hpp) instead of the spec's figure.
#pragma once
#include <memory>
#include <string>

#include "platforms/backend.hpp"

namespace paradnn::tpu {

// spec_text: what follows "tpu:" ("v3", "v3-8", "v5e-4", "my_chip.yaml"). InputError if unknown.
std::unique_ptr<Backend> make_tpu_backend(const std::string& spec_text, bool measure_host);

}  // namespace paradnn::tpu
