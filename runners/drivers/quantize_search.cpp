#include "runners/drivers/quantize_search.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "models/catalog.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"
#include "platforms/registry.hpp"
#include "runners/harness/point_loop.hpp"
#include "runners/harness/result_row.hpp"
#include "runners/harness/timing.hpp"

namespace paradnn {

const std::vector<std::string>& frontier_columns() {
  static const std::vector<std::string> c{"schema_version", "point_key",      "model_name",      "step",
                                          "layer",          "sensitivity",    "int8_layers",     "layers",
                                          "top1_agreement", "fidelity_loss",  "logits_rel_l2",   "time_per_step_s_median",
                                          "speedup_vs_f32", "accepted",       "budget",          "policy",
                                          "status",         "reason"};
  return c;
}

namespace {

class Searcher {
 public:
  Searcher(const Config& c, const QuantizeSearchOptions& o, Backend& b, PrecisionEvaluator& e)
      : config_(c), o_(o), backend_(b), evaluator_(e) {}

  Graph variant(const Graph& base, const std::vector<bool>& int8, const std::string& key) const {
    Graph g = base;
    apply_precision(g, int8);
    evaluator_.calibrate(g, config_.quant.calibration, key);
    return g;
  }

  Fidelity fidelity(const Graph& g) const { return evaluator_.fidelity(g, config_.quant.calibration); }

  double time(const Graph& g, Mode m, const std::string& key) const {
    const auto exe = backend_.prepare(g, m, Settings{o_.threads, 1, Affinity::none});
    return time_steps(*exe, config_.run, key).median_s;
  }

 private:
  const Config& config_;
  const QuantizeSearchOptions& o_;
  Backend& backend_;
  PrecisionEvaluator& evaluator_;
};

std::string names(const Graph& g, const std::vector<int>& layers, const std::vector<bool>& int8, const char* sep = " ") {
  std::string s;
  for (size_t k = 0; k < layers.size(); ++k)
    if (int8[k]) s += (s.empty() ? "" : sep) + g.op(layers[k]).name;
  return s;
}

Row to_row(const FrontierStep& f, double budget) {
  return {{"schema_version", std::to_string(kSchemaVersion)},
          {"point_key", f.point_key},
          {"model_name", f.model_name},
          {"step", std::to_string(f.step)},
          {"layer", f.layer},
          {"sensitivity", f.step ? format_number(f.sensitivity) : ""},
          {"int8_layers", std::to_string(f.int8_layers)},
          {"layers", std::to_string(f.layers)},
          {"top1_agreement", format_number(f.top1_agreement)},
          {"fidelity_loss", format_number(f.fidelity_loss)},
          {"logits_rel_l2", format_number(f.logits_rel_l2)},
          {"time_per_step_s_median", format_number(f.time_per_step_s)},
          {"speedup_vs_f32", format_number(f.speedup_vs_f32)},
          {"accepted", f.accepted ? "true" : "false"},
          {"budget", format_number(budget)},
          {"policy", f.policy},
          {"status", "ok"}};
}

}  // namespace

std::vector<FrontierStep> quantize_search(const QuantizeSearchOptions& o, std::string* output_path) {
  const Config config = load_config(o.config_path, models::catalog());
  if (!(o.budget >= 0 && o.budget <= 1)) throw InputError(fmt::format("--budget {}: expected a fidelity loss in [0, 1]", o.budget));
  std::unique_ptr<Backend> backend = make_backend(o.backend, {});
  PrecisionEvaluator* evaluator = backend->precision();
  if (!evaluator) throw InputError("the " + backend->name() + " backend has no reduced-precision evaluation");
  PointLoop loop(config, LoopOptions::of(o.config_path, o.output, "{}.frontier.csv", o.filter, o.resume, o.force));
  if (output_path) *output_path = loop.output();
  Searcher search(config, o, *backend, *evaluator);
  std::vector<FrontierStep> all;
  PointTask task;
  task.columns = frontier_columns();
  task.wants = [](const GridEntry& e) { return e.point.dtype == DType::int8 && e.point.mode == Mode::infer; };
  task.describe = [](const GridEntry& e) -> Row {
    return {{"schema_version", std::to_string(kSchemaVersion)}, {"point_key", e.point.key()}};
  };
  task.run = [&](const GridEntry& e) {
    const Point& p = e.point;
    std::vector<Row> rows;
    const Graph base = build_graph(p, models::catalog());
    const std::vector<int> layers = quantizable_layers(base);
    const size_t n = layers.size();
    std::vector<bool> none(n, false);
    // Layers that cannot be int8 here (an RNN cell) stay f32 and are not searched.
    std::vector<size_t> candidates;
    std::vector<double> sensitivity(n, 0);
    for (size_t k = 0; k < n; ++k) {
      std::vector<bool> one = none;
      one[k] = true;
      Graph g = base;
      apply_precision(g, one);
      if (backend->cannot_run(g, p.mode)) continue;
      g = search.variant(base, one, p.key());
      sensitivity[k] = 1 - search.fidelity(g).top1_agreement;
      candidates.push_back(k);
    }
    std::stable_sort(candidates.begin(), candidates.end(), [&](size_t a, size_t b) { return sensitivity[a] < sensitivity[b]; });
    fmt::print(stderr, "{}: {} layers, {} can be int8; sensitivity (1 - top-1 agreement):", base.name, n, candidates.size());
    for (size_t k : candidates) fmt::print(stderr, " {}={:.4f}", base.op(layers[k]).name, sensitivity[k]);
    fmt::print(stderr, "\n");

    FrontierStep s0;
    s0.point_key = p.key();
    s0.model_name = base.name;
    s0.layers = static_cast<int>(n);
    const Graph f32 = search.variant(base, none, p.key());
    s0.time_per_step_s = search.time(f32, p.mode, p.key() + " f32");
    const double t_f32 = s0.time_per_step_s;
    rows.push_back(to_row(s0, o.budget));
    all.push_back(s0);
    std::vector<bool> chosen = none;
    for (size_t k : candidates) {
      std::vector<bool> next = chosen;
      next[k] = true;
      const Graph g = search.variant(base, next, p.key());
      const Fidelity f = search.fidelity(g);
      FrontierStep s = s0;
      s.step = static_cast<int>(std::count(next.begin(), next.end(), true));
      s.layer = base.op(layers[k]).name;
      s.sensitivity = sensitivity[k];
      s.int8_layers = s.step;
      s.top1_agreement = f.top1_agreement;
      s.fidelity_loss = 1 - f.top1_agreement;
      s.logits_rel_l2 = f.logits_rel_l2;
      s.accepted = s.fidelity_loss <= o.budget;
      s.time_per_step_s = search.time(g, p.mode, p.key() + " step " + std::to_string(s.step));
      s.speedup_vs_f32 = s.time_per_step_s > 0 ? t_f32 / s.time_per_step_s : 0;
      s.policy = names(base, layers, next);
      rows.push_back(to_row(s, o.budget));
      all.push_back(s);
      fmt::print(stderr, "  step {}: +{} loss {:.4f} rel_l2 {:.4f} time {:.3g} s ({:.2f}x f32){}\n", s.step, s.layer,
                 s.fidelity_loss, s.logits_rel_l2, s.time_per_step_s, s.speedup_vs_f32, s.accepted ? "" : " over budget: stop");
      if (!s.accepted) break;
      chosen = next;
    }
    fmt::print(stderr, "  chosen policy for {}: precision: {{default: f32, int8: [{}]}}\n", base.name,
               names(base, layers, chosen, ", "));
    return rows;
  };
  loop.run(task, describe_run("paradnn quantize-search " + o.config_path, *backend, Settings{o.threads, 1, Affinity::none},
                              config.run));
  return all;
}

}  // namespace paradnn
