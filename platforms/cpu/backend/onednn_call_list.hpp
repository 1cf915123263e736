// The calls of one step, built once outside the timed region and replayed by step(): every
// op's forward calls in graph order, then (training) every op's backward calls in reverse
// graph order, then the parameter updates.
//
// Every primitive uses one user-provided scratchpad, and calls go through the C API with
// prebuilt argument arrays, so a step allocates nothing.
#pragma once
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "paradnn/memory_plan.hpp"
#include "platforms/backend.hpp"
#include "platforms/cpu/backend/onednn_descriptors.hpp"

namespace paradnn::cpu {

// One unit of work in a step: a oneDNN primitive with its arguments, or a hand-written
// kernel where oneDNN has no primitive (embedding, loss, optimizer update).
struct Call {
  int op = -1;
  Phase phase = Phase::fwd;
  std::string name;  // op name, or "<op>.<what>:reorder"
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  memory::desc scratchpad;
  std::function<void()> kernel;
  std::vector<memory> uses;  // what a kernel reads and writes (BufferPlan checks their lifetimes)
  std::string impl;
  double bytes = 0;  // traffic of a reorder (graph ops take theirs from the cost model)
  std::vector<dnnl_exec_arg_t> c_args;  // built by CallList::finalize()
};

class CallList {
 public:
  CallList(size_t ops, const dnnl::engine& e, const dnnl::stream& s);

  // Appends `c` to op c.op's calls in the forward or the backward pass, or to the updates.
  void add_forward(Call c);
  void add_backward(Call c);
  void add_update(Call c);
  // Allocates the shared scratchpad and builds the C argument arrays. Kernel calls added
  // afterwards need neither (the gradient all-reduce's).
  void finalize();

  void forward();
  void backward();
  void update();
  // Per-call seconds summed over `iterations` steps, in call order of one step.
  std::vector<std::pair<const Call*, double>> timed_calls(int iterations);
  // Every call in the order a step runs it, with its time on `t` (op i's forward calls at
  // t.fwd(i), its backward calls at t.bwd(i), the updates at t.end()).
  std::vector<std::pair<const Call*, int>> timed_by(const StepTimeline& t) const;
  // Distinct kernel names, forward calls first.
  std::vector<std::string> impls() const;
  // Arguments of each oneDNN execution in one step (the other calls are paradnn's own kernels).
  std::vector<int> primitive_arg_counts() const;

 private:
  void run(Call& c);
  std::vector<Call*> step_calls();
  // Every call, forward lists first, each op's in graph order (not the order they run).
  template <class F>
  void each(F f) const;

  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<std::vector<Call>> fwd_, bwd_;  // per op
  std::vector<Call> update_;
  memory scratch_;
};

}  // namespace paradnn::cpu
