#include "paradnn/graph.hpp"

#include <algorithm>
#include <numeric>

#include "paradnn/cost.hpp"
#include "paradnn/error.hpp"
#include "paradnn/arena_plan.hpp"
#include "paradnn/memory_plan.hpp"

namespace paradnn {

int64_t elements(const Dims& d) {
  return std::accumulate(d.begin(), d.end(), int64_t{1}, std::multiplies<>());
}

std::string_view to_string(Mode m) { return m == Mode::train ? "train" : "infer"; }

Mode parse_mode(std::string_view s) {
  if (s == "train") return Mode::train;
  if (s == "infer") return Mode::infer;
  throw InputError("unknown mode '" + std::string(s) + "' (expected train or infer)");
}

std::string_view to_string(Optimizer o) {
  switch (o) {
    case Optimizer::sgd: return "sgd";
    case Optimizer::momentum: return "momentum";
    case Optimizer::rmsprop: return "rmsprop";
  }
  return "?";
}

Optimizer parse_optimizer(std::string_view s) {
  for (Optimizer o : {Optimizer::sgd, Optimizer::momentum, Optimizer::rmsprop})
    if (to_string(o) == s) return o;
  throw InputError("unknown optimizer '" + std::string(s) + "' (expected sgd, momentum or rmsprop)");
}

int optimizer_state_per_param(Optimizer o) {
  switch (o) {
    case Optimizer::sgd: return 0;
    case Optimizer::momentum: return 1;  // velocity
    case Optimizer::rmsprop: return 2;   // mean square and momentum
  }
  return 0;
}

std::string_view to_string(OpKind k) {
  switch (k) {
    case OpKind::input: return "input";
    case OpKind::token_input: return "token_input";
    case OpKind::embedding: return "embedding";
    case OpKind::dense: return "dense";
    case OpKind::conv: return "conv";
    case OpKind::batch_norm: return "batch_norm";
    case OpKind::relu: return "relu";
    case OpKind::tanh: return "tanh";
    case OpKind::gelu: return "gelu";
    case OpKind::max_pool: return "max_pool";
    case OpKind::avg_pool: return "avg_pool";
    case OpKind::add: return "add";
    case OpKind::concat: return "concat";
    case OpKind::rnn: return "rnn";
    case OpKind::softmax_xent: return "softmax_xent";
    case OpKind::layer_norm: return "layer_norm";
    case OpKind::batched_matmul: return "batched_matmul";
    case OpKind::softmax: return "softmax";
    case OpKind::upsample: return "upsample";
    case OpKind::reshape: return "reshape";
    case OpKind::transpose: return "transpose";
    case OpKind::focal_loss: return "focal_loss";
  }
  return "?";
}

std::string_view to_string(RnnCell c) {
  switch (c) {
    case RnnCell::rnn: return "rnn";
    case RnnCell::lstm: return "lstm";
    case RnnCell::gru: return "gru";
  }
  return "?";
}

RnnCell parse_cell(std::string_view s) {
  for (RnnCell c : {RnnCell::rnn, RnnCell::lstm, RnnCell::gru})
    if (to_string(c) == s) return c;
  throw InputError("unknown cell '" + std::string(s) + "' (expected rnn, lstm or gru)");
}

int gates(RnnCell c) {
  switch (c) {
    case RnnCell::rnn: return 1;
    case RnnCell::lstm: return 4;
    case RnnCell::gru: return 3;
  }
  return 1;
}

int Graph::add(Op op) {
  for (int in : op.inputs)
    if (in < 0 || in >= static_cast<int>(ops.size()))
      throw std::logic_error("op " + op.name + " names input " + std::to_string(in) + " that is not built yet");
  ops.push_back(std::move(op));
  return static_cast<int>(ops.size()) - 1;
}

void Graph::finalize() {
  for (Op& o : ops) o.cost = count_cost(*this, o);
}

int64_t Graph::param_count() const {
  int64_t n = 0;
  for (const Op& o : ops)
    if (o.shares_params_with < 0)
      for (const Param& p : o.params) n += elements(p.dims);
  return n;
}

std::vector<int> Graph::consumer_counts() const {
  std::vector<int> n(ops.size(), 0);
  for (const Op& o : ops)
    for (int i : o.inputs) ++n[static_cast<size_t>(i)];
  return n;
}

int Graph::first_user(int owner) const {
  for (int j = 0; j < owner; ++j)
    if (ops[static_cast<size_t>(j)].shares_params_with == owner) return j;
  return owner;
}

StepTotals Graph::totals(Mode m) const {
  StepTotals t;
  for (const Op& o : ops) {
    t.flops += o.cost.flops(m);
    t.bytes += o.cost.bytes(m);
  }
  return t;
}

namespace {

// The activations, their gradients (training) and what ops keep for their backward, laid out
// by lifetime in one arena (paradnn/arena_plan.hpp), as the CPU runtime lays them out
// (paradnn/memory_plan.hpp): a fused ReLU is its producer's tensor, a reshape a view of its
// input; the synthetic inputs and a tensor nothing reads (the loss) hold buffers of their own.
// Where a tensor's gradient has several writers, each but the first backward one (an add or
// concat excepted: they hand on their own output gradient) writes into a temporary first.
double planned_buffer_bytes(const Graph& g, Mode m, const std::vector<bool>& in_place) {
  const int n = static_cast<int>(g.ops.size());
  std::vector<int> holder(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    holder[static_cast<size_t>(i)] = in_place[static_cast<size_t>(i)] ? holder[static_cast<size_t>(g.op(i).inputs.at(0))] : i;
  const TensorLifetimes life = tensor_lifetimes(g, m, holder);
  const StepTimeline time(n, m);
  const std::vector<bool> needs = tensors_needing_gradients(g);
  std::vector<bool> written(static_cast<size_t>(n), false);  // a backward writer has been placed
  std::vector<BufferRequest> pool;
  auto place = [&pool](double bytes, Interval live) { pool.push_back({static_cast<size_t>(bytes), live}); };
  double own = 0;
  for (int i = 0; i < n; ++i) {
    const Op& o = g.op(i);
    const size_t k = static_cast<size_t>(i);
    if (in_place[k] || o.kind == OpKind::reshape) continue;
    const Interval out = life.output[k];
    if (o.kind == OpKind::input || o.kind == OpKind::token_input || out.hi == i) own += o.cost.output_bytes;
    else place(o.cost.output_bytes, out);
    if (!time.training()) continue;
    if (o.cost.saved_activation_bytes > 0) place(o.cost.saved_activation_bytes, {i, time.bwd(i)});
    if (needs[k] && out.hi > i) place(o.cost.output_bytes, life.gradient[k]);
  }
  if (!time.training()) return static_cast<double>(lay_out(pool).bytes) + own;
  for (int r = n - 1; r >= 0; --r) {  // gradient writers in backward order
    const Op& o = g.op(r);
    if (in_place[static_cast<size_t>(r)] || !needs[static_cast<size_t>(r)] || !o.needs_input_grad) continue;
    for (int x : o.inputs) {
      const size_t h = static_cast<size_t>(holder[static_cast<size_t>(x)]);
      if (!needs[h]) continue;
      const bool hands_on = o.kind == OpKind::add || o.kind == OpKind::concat || o.kind == OpKind::reshape;
      if (written[h] && !hands_on) place(g.op(static_cast<int>(h)).cost.output_bytes, {time.bwd(r), time.bwd(r)});
      written[h] = true;
    }
  }
  return static_cast<double>(lay_out(pool).bytes) + own;
}

}  // namespace

MemoryEstimate Graph::memory(Mode m) const {
  MemoryEstimate e;
  // A ReLU whose producer feeds only it runs as the producer's post-op, in place: it holds
  // no buffer of its own.
  const std::vector<int> consumers = consumer_counts();
  std::vector<bool> in_place(ops.size(), false);
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& o = ops[i];
    in_place[i] = o.kind == OpKind::relu && consumers[static_cast<size_t>(o.inputs.at(0))] == 1;
    e.weights += o.cost.weight_bytes;
    e.workspace = std::max(e.workspace, o.cost.workspace_bytes);
    if (m == Mode::train) {
      e.gradients += o.cost.grad_bytes;
      e.optimizer += o.cost.optimizer_bytes;
    }
  }
  e.activations = planned_buffer_bytes(*this, m, in_place);
  return e;
}

std::vector<GradientBuffer> Graph::gradients_in_backward_order() const {
  std::vector<GradientBuffer> out;
  for (int i = static_cast<int>(ops.size()) - 1; i >= 0; --i)
    if (ops[static_cast<size_t>(i)].shares_params_with < 0)
      for (const Param& p : ops[static_cast<size_t>(i)].params) out.push_back({p.name, i, elements(p.dims)});
  return out;
}

int Graph::loss_op() const {
  for (int i = static_cast<int>(ops.size()) - 1; i >= 0; --i)
    if (ops[static_cast<size_t>(i)].kind == OpKind::softmax_xent || ops[static_cast<size_t>(i)].kind == OpKind::focal_loss)
      return i;
  return -1;
}

}  // namespace paradnn
