#include "models/mixture_task.hpp"

#include <cmath>
#include <random>

namespace paradnn::models {

MixtureTask::MixtureTask(int64_t features, int64_t classes, uint64_t seed, float separation)
    : features_(features), classes_(classes) {
  std::mt19937_64 rng(seed);
  // Centres N(0, s^2) per feature: two centres lie s*sqrt(2F) apart.
  std::normal_distribution<float> n(0.f, separation / std::sqrt(2.0f * static_cast<float>(features)));
  centres_.resize(static_cast<size_t>(features * classes));
  for (float& c : centres_) c = n(rng);
}

void MixtureTask::batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const {
  std::mt19937_64 rng(seed * 7919 + 13);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(classes_ - 1));
  std::normal_distribution<float> noise(0.f, 1.f);
  x.resize(static_cast<size_t>(rows * features_));
  labels.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t c = pick(rng);
    labels[static_cast<size_t>(r)] = c;
    for (int64_t f = 0; f < features_; ++f)
      x[static_cast<size_t>(r * features_ + f)] = centres_[static_cast<size_t>(c * features_ + f)] + noise(rng);
  }
}

std::string MixtureTask::describe() const { return "gaussian-mixture/" + std::to_string(classes_); }

}  // namespace paradnn::models
