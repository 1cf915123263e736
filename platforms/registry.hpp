// Backend selection by name: "cpu", "cuda", "tpu:v3-8", "tpu:path/to/spec.yaml".
#pragma once
#include <memory>
#include <string>

#include "platforms/backend.hpp"

namespace paradnn {

struct BackendOptions {
  bool measure_tpu_host = false;  // tpu: measure this machine's infeed instead of the spec's host figures
};

// Throws InputError for an unknown name; a known backend that cannot run here is
// returned and says why through Backend::unavailable().
std::unique_ptr<Backend> make_backend(const std::string& spec, const BackendOptions& options = {});

}  // namespace paradnn
