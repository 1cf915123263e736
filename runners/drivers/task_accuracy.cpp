#include "runners/drivers/task_accuracy.hpp"

#include <fmt/core.h>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/registry.hpp"
#include "runners/drivers/precision_point.hpp"
#include "runners/harness/point_loop.hpp"
#include "runners/harness/result_row.hpp"

namespace paradnn {

const std::vector<std::string>& task_accuracy_columns() {
  static const std::vector<std::string> c{"model_name", "task",       "dtype",          "mode",           "batch",
                                          "steps",      "first_loss", "final_loss",     "f32_accuracy",
                                          "reduced_accuracy", "calibration", "point_key", "status", "reason"};
  return c;
}

TaskAccuracyRun run_task_accuracy(const TaskAccuracyOptions& o) {
  const Config c = load_config(o.config_path, models::catalog());
  std::unique_ptr<Backend> backend = make_backend(o.backend, {});
  PrecisionEvaluator* evaluator = backend->precision();
  if (!evaluator) throw InputError("the " + backend->name() + " backend has no reduced-precision evaluation");
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
    const TaskAccuracy a = training ? evaluator->training_accuracy(g, o.steps) : evaluator->task_accuracy(g, c.quant.calibration, o.steps);
    Row r = task.describe(e);
    r["model_name"] = g.name;
    r["task"] = a.task;
    r["steps"] = std::to_string(a.steps);
    r["first_loss"] = format_number(a.first_loss);
    r["final_loss"] = format_number(a.final_loss);
    r["f32_accuracy"] = format_number(a.f32_accuracy);
    r["reduced_accuracy"] = format_number(a.reduced_accuracy);
    r["calibration"] = training ? "" : c.quant.calibration.describe();
    set_status(r, Status::ok);
    out.rows.push_back(r);
    return {r};
  };
  ManifestInfo manifest = describe_run("paradnn task-accuracy " + o.config_path, *backend, Settings{}, c.run);
  manifest.method = fmt::format(
      "inference points: {0} f32 training steps on the point's seeded task, then accuracy on held-out batches; training "
      "points: {0} steps in the point's dtype and in f32 from the same weights, each model's held-out accuracy",
      o.steps);
  loop.run(task, manifest);
  return out;
}

}  // namespace paradnn
