#include "runners/drivers/model_error.hpp"

#include <fmt/core.h>

#include <set>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/model/cpu_roofline_model.hpp"
#include "platforms/registry.hpp"
#include "runners/harness/point_loop.hpp"
#include "runners/drivers/published_error.hpp"
#include "runners/harness/result_row.hpp"

namespace paradnn {

namespace {

const std::vector<std::string>& columns() {
  static const std::vector<std::string> c{"point_key", "model_family", "model_name", "mode", "dtype", "batch",
                                          "intra_threads", "predicted_s", "measured_s", "relative_error", "status",
                                          "reason"};
  return c;
}

}  // namespace

ModelErrorSummary run_model_error(const ModelErrorOptions& o) {
  const Config c = load_config(o.config_path, models::catalog());
  std::map<std::string, const Row*> measured;
  const CsvTable results = read_results(o.results);
  std::set<std::string> keys;
  for (const GridEntry& e : expand(c, models::catalog())) keys.insert(e.point.key());
  ModelErrorSummary s;
  for (const Row& r : results.rows) {
    if (status_of(r) != Status::ok) continue;
    if (!keys.count(r.at("point_key"))) ++s.unmatched;
    else measured[r.at("point_key")] = &r;
  }
  if (measured.empty()) throw InputError(o.results + ": no ok rows of " + o.config_path + "'s points");
  const std::optional<PlatformFile> pf = make_backend("cpu")->ceilings(o.platform);
  PointLoop loop(c, LoopOptions::of(o.config_path, o.output, "{}.model-error.csv", o.filter, o.resume, o.force));
  s.output = loop.output();

  PointTask task;
  task.columns = columns();
  task.measures = false;
  task.wants = [&](const GridEntry& e) { return measured.count(e.point.key()) > 0; };
  task.describe = [](const GridEntry& e) -> Row {
    return {{"point_key", e.point.key()}, {"model_family", e.point.family}, {"mode", std::string(to_string(e.point.mode))},
            {"dtype", std::string(to_string(e.point.dtype))}, {"batch", std::to_string(e.point.batch)}};
  };
  task.run = [&](const GridEntry& e) -> std::vector<Row> {
    const Row& m = *measured.at(e.point.key());
    const Graph g = build_graph(e.point, models::catalog());
    const int threads = std::stoi(m.at("intra_threads"));
    const double predicted = model::predict_step_seconds_on_cpu(g, e.point.mode, *pf, threads);
    const double seconds = std::stod(m.at("time_per_step_s_median"));
    Row r = task.describe(e);
    r["model_name"] = g.name;
    r["intra_threads"] = std::to_string(threads);
    r["predicted_s"] = format_number(predicted);
    r["measured_s"] = format_number(seconds);
    r["relative_error"] = format_number((predicted - seconds) / seconds);
    set_status(r, Status::ok);
    return {r};
  };
  ManifestInfo manifest;
  manifest.command = "paradnn model-error " + o.config_path + " " + o.results;
  manifest.backend = "cpu roofline model";
  manifest.simulated = true;
  manifest.machine = pf->machine;
  manifest.method = "step = sum over ops of max(FLOPs / peak, bytes / DRAM bandwidth) at the row's threads";
  manifest.ceilings = o.platform.empty() ? "this machine's platform file" : o.platform;
  loop.run(task, manifest);

  // The summary covers every row in the output, a resumed run's earlier ones too.
  std::map<std::string, std::vector<double>> groups;  // predicted / measured
  for (const Row& r : read_csv(s.output, columns()).rows) {
    if (status_of(r) != Status::ok) continue;
    const double ratio = std::stod(r.at("predicted_s")) / std::stod(r.at("measured_s"));
    groups[r.at("model_family") + " " + r.at("mode")].push_back(ratio);
    groups["all"].push_back(ratio);
  }
  for (const auto& [group, ratios] : groups) s.groups[group] = {ratios.size(), error_stats(ratios).median};
  return s;
}

}  // namespace paradnn
