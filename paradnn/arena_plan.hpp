// Storage sharing for buffers with known lifetimes (paradnn/memory_plan.hpp): every buffer of
// a step gets an offset in one arena, and two buffers live at the same time never overlap
// in it. The CPU runtime lays its buffers out with it (platforms/cpu/backend/onednn_buffer_plan.cpp)
// and the memory estimate lays out the same tensors (Graph::memory), so the estimate follows
// what runs.
#pragma once
#include <cstddef>
#include <vector>

#include "paradnn/memory_plan.hpp"

namespace paradnn {

struct BufferRequest {
  size_t bytes = 0;
  Interval live;
};

struct ArenaLayout {
  std::vector<BufferRequest> requests;
  std::vector<size_t> offsets;  // per request
  size_t bytes = 0;             // the arena's size
  // Whether request k still holds its values after the step: no request live after it
  // overlaps its bytes.
  bool kept_after_step(size_t k) const;
};

// Greedy by size, as TensorFlow Lite's arena planner: the largest buffer first, each at the
// lowest offset (a multiple of `align`) where it overlaps no buffer already placed that is
// live at the same time.
ArenaLayout lay_out(std::vector<BufferRequest> requests, size_t align = 64);

}  // namespace paradnn
