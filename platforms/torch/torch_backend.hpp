// The torch backend: paradnn's generated graphs run by PyTorch (Debian's python3-torch under
// /usr/bin/python3) in long-lived worker processes (torch_worker.py), one per inter-op pool,
// each pinned to its own cores inside the inherited cpuset. Each worker times its own steps
// (forward, backward, optimizer step; or inference) around the step, and the backend hands
// those seconds to the harness through the device-clock hook (Clock::device, step_seconds()),
// so repetitions and statistics stay paradnn's.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "platforms/backend.hpp"

namespace paradnn::torch {

// The interpreter is $PARADNN_TORCH_PYTHON or /usr/bin/python3; the worker script
// $PARADNN_TORCH_WORKER or the source tree's. unavailable() says why where torch cannot start.
std::unique_ptr<Backend> make_torch_backend();

// For checks against other backends: the logits `exe` (a torch executable) computes for
// `input` on the given weights (IR names and layouts), in inference. Throws std::invalid_argument
// for another executable.
std::vector<float> forward_with(Executable& exe, const std::map<std::string, std::vector<float>>& params,
                                const std::vector<float>& input);

// Parameters of the model the worker built for `exe` (torch's count).
int64_t parameter_count(const Executable& exe);

}  // namespace paradnn::torch
