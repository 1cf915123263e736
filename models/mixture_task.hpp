// Seeded labelled data sets for training a model on something learnable, and the Gaussian
// mixture one: the precision room judges reduced precision on a model trained on it, the
// lowp micro-benchmark follows a training loss curve on it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace paradnn::models {

// A seeded labelled data set: every batch is a pure function of its seed.
class Task {
 public:
  virtual ~Task() = default;
  // `rows` examples of batch `seed`: inputs in the IR's order, and their classes.
  virtual void batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const = 0;
  virtual std::string describe() const = 0;  // for reports, e.g. "gaussian-mixture/200"
};

// One random centre per class, drawn from `seed`, and unit noise around it. `separation`: how
// many noise deviations two centres lie apart on average; at 12 the classes barely touch, at
// about 5 they overlap and training has a loss curve to follow.
class MixtureTask : public Task {
 public:
  MixtureTask(int64_t features, int64_t classes, uint64_t seed, float separation = 12.0f);
  void batch(uint64_t seed, int64_t rows, std::vector<float>& x, std::vector<int32_t>& labels) const override;
  std::string describe() const override;

 private:
  int64_t features_, classes_;
  std::vector<float> centres_;  // classes x features
};

}  // namespace paradnn::models
