#include "platforms/cpu/precision/inference_model.hpp"

#include <random>
#include <stdexcept>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

InferenceModel::InferenceModel(const Graph& g, Mode m, const Weights& weights) {
  net_ = std::make_unique<Net>(g, m, true, Buffers::one_per_tensor);  // every tensor readable after run()
  // ParamStore::initial is keyed by the backend's weight names (the IR parameter names
  // for every op that owns its parameters).
  net_->params().initial = weights;
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) build_op(*net_, i);
  net_->finalize();
}

void InferenceModel::feed(uint64_t seed) {
  const Graph& g = net_->graph();
  for (int t = 0; t < static_cast<int>(g.ops.size()); ++t) {
    const Op& op = g.op(t);
    if (op.kind != OpKind::input && op.kind != OpKind::token_input) continue;
    const memory y = net_->output(t);
    if (!y) continue;  // no consumer
    const size_t n = static_cast<size_t>(elements(op.out));
    if (op.kind == OpKind::input) {
      write_plain(net_->engine(), net_->stream(), y, uniform_values(n, -1.f, 1.f, seed * 1315423911ull + static_cast<uint64_t>(t)));
      continue;
    }
    int64_t vocab = 0;  // the embedding that reads the ids
    for (const Op& c : g.ops)
      if (c.kind == OpKind::embedding && c.inputs.at(0) == t) vocab = c.params.at(0).dims.at(0);
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int32_t> u(0, static_cast<int32_t>(std::max<int64_t>(vocab, 1) - 1));
    auto* ids = static_cast<int32_t*>(y.get_data_handle());
    for (size_t k = 0; k < n; ++k) ids[k] = u(rng);
  }
}

void InferenceModel::feed(int data_op, const std::vector<float>& values) {
  write_plain(net_->engine(), net_->stream(), net_->output(data_op), values);
}

void InferenceModel::set_labels(const std::vector<int32_t>& labels) {
  if (labels.size() != net_->labels.size()) throw std::invalid_argument("set_labels: one label per logits row");
  std::copy(labels.begin(), labels.end(), net_->labels.begin());  // the loss kernel holds a pointer to them
}

void InferenceModel::run() {
  net_->forward();
  if (net_->training()) {
    net_->backward();
    net_->update();
  }
  net_->stream().wait();
}

std::vector<float> InferenceModel::tensor(int op) {
  std::vector<float> v = read_plain(net_->engine(), net_->stream(), net_->output(op));
  if (const float scale = net_->output_scale(op); scale != 1.f)
    for (float& x : v) x *= scale;
  return v;
}

int InferenceModel::logits_op() const {
  const Graph& g = net_->graph();
  const int loss = g.loss_op();
  return loss >= 0 ? g.op(loss).inputs.at(0) : static_cast<int>(g.ops.size()) - 1;
}

int64_t InferenceModel::classes() const { return net_->graph().dims_of(logits_op()).back(); }

Weights InferenceModel::weights() {
  Weights out = norm_statistics();
  for (const Op& op : net_->graph().ops) {
    if (op.shares_params_with >= 0) continue;
    for (const Param& p : op.params) out[p.name] = net_->params().read(net_->engine(), net_->stream(), p.name, p, false);
  }
  return out;
}

Weights InferenceModel::norm_statistics() {
  Weights out;
  for (const Op& op : net_->graph().ops) {
    if (op.kind != OpKind::batch_norm) continue;
    for (const char* stat : {".mean", ".var"}) {
      const Param p{op.name + stat, {op.out[1]}};
      out[p.name] = net_->params().read(net_->engine(), net_->stream(), p.name, p, false);
    }
  }
  return out;
}

Graph f32_copy(const Graph& g) {
  Graph f = g;
  f.dtype = DType::f32;
  for (Op& op : f.ops) {
    if (op.dtype != DType::s32) op.dtype = DType::f32;
    op.quant = Quant{};
  }
  f.finalize();
  return f;
}

}  // namespace paradnn::cpu
