// The seeded shape-image task for CNNs (learnable_task.hpp): class k draws shape k % 4
// (square, disc, triangle, cross), filled for k < 4 and outlined otherwise, with a random
// half-size of 1/8 to 1/4 of the image, a random place that keeps it whole and a random
// colour per channel, on Gaussian background noise. Classes differ in form only, so a
// model must learn shapes, not brightness or position.
#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "platforms/cpu/precision/learnable_task.hpp"

namespace paradnn::cpu {

namespace {

// Whether (dx, dy), relative to the centre (y grows downwards), lies in shape `form` of half-size r.
bool inside(int64_t form, double dx, double dy, double r) {
  dx = std::fabs(dx);
  switch (form) {
    case 0: return dx <= r && std::fabs(dy) <= r;                      // square
    case 1: return dx * dx + dy * dy <= r * r;                          // disc
    case 2: return dy >= -r && dy <= r && dx <= (dy + r) / 2;           // triangle, apex up
    default: {                                                          // cross
      const double arm = r / 3, ady = std::fabs(dy);
      return (dx <= r && ady <= arm) || (dx <= arm && ady <= r);
    }
  }
}

}  // namespace

ShapesTask::ShapesTask(int64_t channels, int64_t height, int64_t width, int64_t classes)
    : channels_(channels), height_(height), width_(width), classes_(std::min(classes, kinds)) {
  if (std::min(height, width) < 8) throw std::invalid_argument("the shape task needs images of at least 8x8 pixels");
}

std::string ShapesTask::describe() const { return "shapes/" + std::to_string(classes_); }

void ShapesTask::batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const {
  std::mt19937_64 rng(seed * 6151 + 29);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(classes_ - 1));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<float> noise(0.f, 0.25f);
  const double side = static_cast<double>(std::min(height_, width_));
  const int64_t plane = height_ * width_;
  x.resize(static_cast<size_t>(rows * channels_ * plane));
  labels.resize(static_cast<size_t>(rows));
  std::vector<float> colour(static_cast<size_t>(channels_));
  for (int64_t n = 0; n < rows; ++n) {
    const int32_t k = pick(rng);
    labels[static_cast<size_t>(n)] = k;
    const int64_t form = k % 4;
    const bool outlined = k >= 4;
    const double r = side * (0.125 + 0.125 * unit(rng));
    const double cy = r + unit(rng) * (static_cast<double>(height_) - 2 * r);
    const double cx = r + unit(rng) * (static_cast<double>(width_) - 2 * r);
    const double stroke = std::max(1.5, 0.35 * r);
    for (float& c : colour) c = static_cast<float>(0.6 + 0.6 * unit(rng));
    float* img = x.data() + n * channels_ * plane;
    for (int64_t i = 0; i < height_; ++i)
      for (int64_t j = 0; j < width_; ++j) {
        const double dy = static_cast<double>(i) + 0.5 - cy, dx = static_cast<double>(j) + 0.5 - cx;
        const bool on = inside(form, dx, dy, r) && !(outlined && inside(form, dx, dy, r - stroke));
        for (int64_t c = 0; c < channels_; ++c)
          img[c * plane + i * width_ + j] = noise(rng) + (on ? colour[static_cast<size_t>(c)] : 0.f);
      }
  }
}

}  // namespace paradnn::cpu
