// What GPU this is (name, sm_XY, memory, library versions), and whether there is one.
#pragma once
#include <optional>
#include <string>

#include "platforms/backend.hpp"

namespace paradnn::cuda {

// "no CUDA device: <CUDA's error text>" when cudaGetDeviceCount fails or finds none.
std::optional<std::string> cuda_unavailable();
PlatformInfo cuda_platform();  // device 0; call only when cuda_unavailable() is empty
int compute_capability();      // 90 for sm_90
double free_device_memory_bytes();

}  // namespace paradnn::cuda
