#include "runners/drivers/task_accuracy.hpp"

#include <cmath>
#include <numeric>

#include <fmt/core.h>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/registry.hpp"
#include "runners/drivers/precision_point.hpp"
#include "runners/harness/point_loop.hpp"
#include "runners/harness/result_row.hpp"
#include "runners/harness/timing.hpp"

namespace paradnn {

const std::vector<std::string>& task_accuracy_columns() {
  static const std::vector<std::string> c{"model_name",       "task",         "dtype",         "mode",
                                          "batch",            "steps",        "seeds",         "first_loss",
                                          "final_loss",       "f32_accuracy", "reduced_accuracy", "f32_accuracy_sd",
                                          "reduced_accuracy_sd", "accuracy_delta", "accuracy_delta_se", "calibration",
                                          "point_key",        "status",       "reason"};
  return c;
}

namespace {

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

// Sample standard deviation and standard error of the mean as CSV text: empty below two
// values (one run has no spread to report).
std::string sd_text(const std::vector<double>& v) { return v.size() < 2 ? "" : format_number(sample_stddev(v)); }
std::string se_text(const std::vector<double>& v) {
  return v.size() < 2 ? "" : format_number(sample_stddev(v) / std::sqrt(static_cast<double>(v.size())));
}

}  // namespace

TaskAccuracyRun run_task_accuracy(const TaskAccuracyOptions& o) {
  const Config c = load_config(o.config_path, models::catalog());
  std::unique_ptr<Backend> backend = make_backend(o.backend, {});
  PrecisionEvaluator* evaluator = backend->precision();
  if (!evaluator) throw InputError("the " + backend->name() + " backend has no reduced-precision evaluation");
  if (o.seeds < 1) throw InputError(fmt::format("--seeds: expected at least 1, got {}", o.seeds));
  PointLoop loop(c, LoopOptions::of(o.config_path, o.output, "{}.task.csv", o.filter, o.resume, o.force));
  TaskAccuracyRun out;
  out.output = loop.output();
  PointTask task;
  task.columns = task_accuracy_columns();
  task.wants = [](const GridEntry& e) {
    const Point& p = e.point;
    return (p.family == "fc" || p.family == "cnn") && p.dtype != DType::f32;
  };
  task.describe = [&](const GridEntry& e) -> Row {
    return {{"dtype", std::string(to_string(e.point.dtype))}, {"mode", std::string(to_string(e.point.mode))},
            {"batch", std::to_string(e.point.batch)}, {"point_key", e.point.key()}};
  };
  task.run = [&](const GridEntry& e) -> std::vector<Row> {
    const Point& p = e.point;
    Graph g = build_graph(p, models::catalog());
    // Inference points: trained in f32, then run in the reduced precision; training points:
    // trained in their own precision against the same training in f32.
    const bool training = p.mode == Mode::train;
    if (!training) apply_precision_policy(g, c.quant);
    std::vector<double> f32, reduced, delta, first_loss, final_loss;
    std::string task_name;
    for (int seed = 0; seed < o.seeds; ++seed) {
      const auto s = static_cast<uint64_t>(seed);
      const TaskAccuracy a =
          training ? evaluator->training_accuracy(g, o.steps, s) : evaluator->task_accuracy(g, c.quant.calibration, o.steps, s);
      task_name = a.task;
      f32.push_back(a.f32_accuracy);
      reduced.push_back(a.reduced_accuracy);
      delta.push_back(a.reduced_accuracy - a.f32_accuracy);
      first_loss.push_back(a.first_loss);
      final_loss.push_back(a.final_loss);
    }
    Row r = task.describe(e);
    r["model_name"] = g.name;
    r["task"] = task_name;
    r["steps"] = std::to_string(o.steps);
    r["seeds"] = std::to_string(o.seeds);
    r["first_loss"] = format_number(mean(first_loss));
    r["final_loss"] = format_number(mean(final_loss));
    r["f32_accuracy"] = format_number(mean(f32));
    r["reduced_accuracy"] = format_number(mean(reduced));
    r["f32_accuracy_sd"] = sd_text(f32);
    r["reduced_accuracy_sd"] = sd_text(reduced);
    r["accuracy_delta"] = format_number(mean(delta));
    r["accuracy_delta_se"] = se_text(delta);
    r["calibration"] = training ? "" : c.quant.calibration.describe();
    set_status(r, Status::ok);
    out.rows.push_back(r);
    return {r};
  };
  ManifestInfo manifest = describe_run("paradnn task-accuracy " + o.config_path, *backend, Settings{}, c.run);
  manifest.method = fmt::format(
      "inference points: {0} f32 training steps on the point's seeded task, then accuracy on held-out batches; training "
      "points: {0} steps in the point's dtype and in f32 from the same weights, each model's held-out accuracy; {1} "
      "training-data seed(s) per point, means with sample standard deviations and the paired difference's standard error",
      o.steps, o.seeds);
  loop.run(task, manifest);
  return out;
}

}  // namespace paradnn
