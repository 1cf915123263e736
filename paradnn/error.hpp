// Errors that carry where they came from, so users see file, line and key.
#pragma once
#include <stdexcept>
#include <string>

namespace paradnn {

// Bad user input (config, CLI, CSV). The CLI maps it to exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A grid point a backend cannot run (dtype, ISA, memory): becomes a `skipped` row.
class Unsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace paradnn
