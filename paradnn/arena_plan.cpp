#include "paradnn/arena_plan.hpp"

#include <algorithm>
#include <numeric>

namespace paradnn {

namespace {

size_t round_up(size_t n, size_t align) { return (n + align - 1) / align * align; }

bool bytes_overlap(size_t a, size_t a_bytes, size_t b, size_t b_bytes) { return a < b + b_bytes && b < a + a_bytes; }

}  // namespace

ArenaLayout lay_out(std::vector<BufferRequest> requests, size_t align) {
  ArenaLayout out;
  out.requests = std::move(requests);
  const size_t n = out.requests.size();
  out.offsets.assign(n, 0);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return out.requests[a].bytes > out.requests[b].bytes; });
  std::vector<size_t> placed;
  for (size_t k : order) {
    const BufferRequest& r = out.requests[k];
    // The placed buffers live at the same time, by offset: take the first gap that fits.
    std::vector<size_t> rivals;
    for (size_t p : placed)
      if (out.requests[p].live.overlaps(r.live)) rivals.push_back(p);
    std::sort(rivals.begin(), rivals.end(), [&](size_t a, size_t b) { return out.offsets[a] < out.offsets[b]; });
    size_t offset = 0;
    for (size_t p : rivals) {
      if (offset + r.bytes <= out.offsets[p]) break;
      offset = std::max(offset, round_up(out.offsets[p] + out.requests[p].bytes, align));
    }
    out.offsets[k] = offset;
    out.bytes = std::max(out.bytes, offset + r.bytes);
    placed.push_back(k);
  }
  return out;
}

bool ArenaLayout::kept_after_step(size_t k) const {
  for (size_t j = 0; j < requests.size(); ++j)
    if (j != k && requests[j].live.lo > requests[k].live.hi &&
        bytes_overlap(offsets[j], requests[j].bytes, offsets[k], requests[k].bytes))
      return false;
  return true;
}

}  // namespace paradnn
