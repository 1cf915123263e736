// The CPU backend: graphs lowered to oneDNN primitives (backend/), run under the threading
// settings (threading/), placed on this CPU's measured roofline (probes/), with
// reduced-precision evaluation (precision/) and, where MPI was found, data-parallel steps.
#pragma once
#include <memory>

#include "platforms/backend.hpp"

namespace paradnn::cpu {

std::unique_ptr<Backend> make_cpu_backend();

}  // namespace paradnn::cpu
