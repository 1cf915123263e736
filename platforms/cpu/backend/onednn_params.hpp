// Trainable parameters on the CPU. A weight lives in the layout and type its primitive
// chose (`w`); training adds an f32 master copy in the layout of its gradient (the same
// memory as `w` when layout and type agree, as for f32), the gradient, and optimizer state.
// The update is element-wise over master, gradient and state, so their shared layout does
// not matter; a master in another layout or type is reordered into `w` after the update.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "paradnn/graph.hpp"

namespace paradnn::cpu {

struct Weight {
  std::string name;
  int op = -1;
  dnnl::memory w;                    // what the primitive computes with
  dnnl::memory master, grad, state1, state2;  // training only
  dnnl::memory::desc plain;          // f32 in the IR's order, for read-back
  std::map<std::string, size_t> views;  // IR parameter name -> element offset in `plain`
  bool separate_master() const { return master && master.get_data_handle() != w.get_data_handle(); }
};

struct UpdateRule {
  Optimizer optimizer = Optimizer::sgd;
  float lr = 0.01f, momentum = 0.9f, decay = 0.9f, epsilon = 1e-7f;
};

class ParamStore {
 public:
  // A weight in `compute` layout, initialized uniform in [-bound, bound] (constant `bound`
  // when `constant` is set, as for batch-norm scales), seeded by its name.
  Weight& add(const dnnl::engine& e, dnnl::stream& s, int op, const std::string& name, const dnnl::memory::desc& plain,
              const dnnl::memory::desc& compute, float bound, bool constant = false);
  // Training state for a weight whose gradient the backward primitive writes in `diff`.
  void train(const dnnl::engine& e, dnnl::stream& s, Weight& w, const dnnl::memory::desc& diff, Optimizer opt);

  // Optimizer step on one weight (OpenMP over elements).
  static void update(const Weight& w, const UpdateRule& r);

  // Values by weight name (e.g. "fc1.weight", f32 in the IR's order) that add() uses instead
  // of the seeded initialization: trained weights, or exact values in tests.
  std::map<std::string, std::vector<float>> initial;

  Weight* find(const std::string& ir_name);
  const std::vector<std::unique_ptr<Weight>>& all() const { return weights_; }
  // An IR parameter (or its gradient) as f32 in the IR's order.
  std::vector<float> read(const dnnl::engine& e, dnnl::stream& s, const std::string& ir_name, const Param& p,
                          bool gradient) const;

 private:
  std::vector<std::unique_ptr<Weight>> weights_;
};

// Fills a memory of any layout and type from f32 values in its plain order.
void write_plain(const dnnl::engine& e, dnnl::stream& s, const dnnl::memory& dst, const std::vector<float>& values);
std::vector<float> read_plain(const dnnl::engine& e, dnnl::stream& s, const dnnl::memory& src);
std::vector<float> uniform_values(size_t n, float lo, float hi, uint64_t seed);

}  // namespace paradnn::cpu
