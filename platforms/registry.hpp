// Backend selection by name: "cpu", "cuda", "tpu:v3-8", "tpu:path/to/spec.yaml",
// and the measured ceilings of the platform a backend runs on.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "platforms/backend.hpp"
#include "platforms/platform_file.hpp"

namespace paradnn {

struct BackendOptions {
  bool measure_tpu_host = false;  // tpu: measure this machine's infeed instead of the spec's host figures
};

// Throws InputError for an unknown name; a known backend that cannot run here is
// returned and says why through Backend::unavailable().
std::unique_ptr<Backend> make_backend(const std::string& spec, const BackendOptions& options = {});

// The platform file of the machine `backend` measures on: loaded from `path` when given,
// else the cached probe result for this machine (probing once when there is none).
// Simulated backends have none: their rows carry the model's bound instead.
std::optional<PlatformFile> platform_ceilings(const Backend& backend, const std::string& path);

}  // namespace paradnn
