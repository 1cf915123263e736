#include "platforms/registry.hpp"

#include "paradnn/error.hpp"
#include "platforms/cpu/onednn_backend.hpp"

namespace paradnn {

std::unique_ptr<Backend> make_backend(const std::string& spec) {
  if (spec == "cpu") return cpu::make_cpu_backend();
  throw InputError("unknown backend '" + spec + "' (expected cpu, cuda, or tpu:GENERATION[-CORES] such as tpu:v3-8)");
}

}  // namespace paradnn
