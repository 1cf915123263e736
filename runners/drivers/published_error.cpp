#include "runners/drivers/published_error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <tuple>

#include "analysis/plot_runner.hpp"
#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/registry.hpp"
#include "runners/harness/point_loop.hpp"
#include "runners/harness/result_row.hpp"
#include "runners/harness/timing.hpp"

namespace paradnn {

namespace {

const std::vector<std::string> kShape{"layers", "nodes", "input", "output", "batch"};

const std::vector<std::string>& columns() {
  static const std::vector<std::string> c{"point_key", "platform", "backend", "layers", "nodes", "input", "output",
                                          "batch", "dtype", "predicted_examples_per_s", "measured_examples_per_s",
                                          "ratio", "abs_error", "bound", "status", "reason"};
  return c;
}

using Shape = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;  // layers, nodes, input, output, batch

struct Published {
  std::string platform;
  double examples_per_s = 0;
};

int64_t whole(const Row& r, const std::string& key, const std::string& file) {
  const std::string& v = r.at(key);
  size_t used = 0;
  int64_t x = 0;
  try {
    x = std::stoll(v, &used);
  } catch (const std::exception&) {
  }
  if (used != v.size() || x <= 0) throw InputError(fmt::format("{}: column '{}': expected a positive integer, got '{}'", file, key, v));
  return x;
}

// The published points as a sweep config: the grid of their values, of which `wants`
// keeps the published ones.
std::string config_text(const std::string& name, const std::map<Shape, Published>& pts, const std::string& dtype,
                        const std::string& optimizer) {
  std::array<std::set<int64_t>, 5> values;
  for (const auto& [s, p] : pts) {
    values[0].insert(std::get<0>(s));
    values[1].insert(std::get<1>(s));
    values[2].insert(std::get<2>(s));
    values[3].insert(std::get<3>(s));
    values[4].insert(std::get<4>(s));
  }
  std::string axes;
  for (size_t i = 0; i < kShape.size(); ++i) axes += fmt::format("  {}: [{}]\n", kShape[i], fmt::join(values[i], ", "));
  return fmt::format("name: {}\nmodes: [train]\ndtypes: [{}]\nfamily: fc\noptimizer: {}\naxes:\n{}", name, dtype,
                     optimizer, axes);
}

}  // namespace

std::string published_label(const std::string& backend) {
  if (backend.rfind("tpu:", 0) == 0) return "tpu-" + backend.substr(4);
  if (backend.rfind("gpu-model:", 0) == 0) return backend.substr(10);
  return backend;
}

ErrorStats error_stats(const std::vector<double>& ratios) {
  ErrorStats s;
  std::vector<double> abs;
  for (double r : ratios) abs.push_back(std::abs(r - 1));
  s.points = ratios.size();
  s.median = percentile(abs, 0.5);
  s.p90 = percentile(abs, 0.9);
  s.median_ratio = percentile(ratios, 0.5);
  return s;
}

PublishedErrorSummary run_published_error(const PublishedErrorOptions& o) {
  const std::unique_ptr<Backend> backend = make_backend(o.backend);
  if (!backend->simulated())
    throw InputError("--backend " + o.backend + ": model-error --published checks a model (tpu:..., gpu-model:...)");
  PublishedErrorSummary s;
  s.rows = o.rows.empty() ? published_label(backend->name()) : o.rows;

  const CsvTable table = read_csv(o.published, {"platform", "layers", "nodes", "input", "output", "batch", "examples_per_s"});
  std::map<Shape, Published> points;
  std::set<std::string> labels;
  for (const Row& r : table.rows) {
    labels.insert(r.at("platform"));
    if (r.at("platform").rfind(s.rows, 0) != 0) continue;
    const Shape k{whole(r, "layers", o.published), whole(r, "nodes", o.published), whole(r, "input", o.published),
                  whole(r, "output", o.published), whole(r, "batch", o.published)};
    points[k] = {r.at("platform"), std::stod(r.at("examples_per_s"))};
  }
  if (points.empty())
    throw InputError(fmt::format("{}: no rows whose platform starts with '{}' (it has {}); pick them with --rows",
                                 o.published, s.rows, fmt::join(labels, ", ")));
  const bool gpu = backend->platform().platform == "gpu";
  const std::string label = points.begin()->second.platform;
  s.dtype = !o.dtype.empty() ? o.dtype : label.find("bf16") != std::string::npos ? "bf16" : gpu ? "f16" : "bf16";

  const std::string stem = std::filesystem::path(o.published).stem().string();
  const std::string name = stem + "." + s.rows;
  const Config c = parse_config(config_text(name, points, s.dtype, o.optimizer), o.published, models::catalog());
  PointLoop loop(c, LoopOptions::of(o.published, o.output, "{}.model-error.csv", o.filter, o.resume, o.force));
  s.output = loop.output();

  const auto shape_of = [](const Point& p) {
    return Shape{p.get_int("layers"), p.get_int("nodes"), p.get_int("input"), p.get_int("output"), p.batch};
  };
  PointTask task;
  task.columns = columns();
  task.measures = false;
  task.wants = [&](const GridEntry& e) { return points.count(shape_of(e.point)) > 0; };
  task.describe = [&](const GridEntry& e) -> Row {
    Row r{{"point_key", e.point.key()}, {"platform", points.at(shape_of(e.point)).platform},
          {"backend", backend->name()}, {"dtype", std::string(to_string(e.point.dtype))}, {"batch", std::to_string(e.point.batch)}};
    for (const char* k : {"layers", "nodes", "input", "output"}) r[k] = std::to_string(e.point.get_int(k));
    r["measured_examples_per_s"] = format_number(points.at(shape_of(e.point)).examples_per_s);
    return r;
  };
  task.run = [&](const GridEntry& e) -> std::vector<Row> {
    const Graph g = build_graph(e.point, models::catalog());
    const std::unique_ptr<Executable> exe = backend->prepare(g, Mode::train, Settings{});  // Unsupported: skipped row
    const double predicted = double(g.batch) / exe->step_seconds();
    const double measured = points.at(shape_of(e.point)).examples_per_s;
    Row r = task.describe(e);
    r["predicted_examples_per_s"] = format_number(predicted);
    r["ratio"] = format_number(predicted / measured);
    r["abs_error"] = format_number(std::abs(predicted / measured - 1));
    r["bound"] = exe->bound();
    set_status(r, Status::ok);
    return {r};
  };
  ManifestInfo manifest;
  manifest.command = "paradnn model-error --published " + o.published + " --backend " + o.backend;
  manifest.backend = backend->name();
  manifest.simulated = true;
  manifest.machine = backend->platform();
  manifest.method = "the backend's step model against published examples/s (training steps)";
  manifest.ceilings = "the device spec " + backend->platform().versions["device_spec"];
  loop.run(task, manifest);

  // The summary covers every row in the output, a resumed run's earlier ones too.
  std::vector<double> all;
  std::map<std::string, std::vector<double>> by_bound;
  std::map<std::string, std::map<int64_t, std::vector<double>>> by_hp;
  for (const Row& r : read_csv(s.output, columns()).rows) {
    if (status_of(r) != Status::ok) {
      ++s.refused;
      if (s.reasons.size() < 5) s.reasons.push_back(r.at("point_key") + ": " + r.at("reason"));
      continue;
    }
    const double ratio = std::stod(r.at("ratio"));
    all.push_back(ratio);
    by_bound[r.at("bound")].push_back(ratio);
    for (const std::string& k : kShape) by_hp[k][std::stoll(r.at(k))].push_back(ratio);
  }
  s.all = error_stats(all);
  for (const auto& [b, v] : by_bound) s.by_bound[b] = error_stats(v);
  for (const auto& [k, m] : by_hp)
    for (const auto& [value, v] : m) s.by_hyperparameter[k][value] = error_stats(v);

  if (o.plot) {
    analysis::PlotJob job;
    job.kind = "model_error";
    job.data = {s.output};
    job.output = loop.beside("");  // results/X.model-error.png beside X.model-error.csv
    job.title = fmt::format("{} model vs published {} ({} points)", backend->name(), s.rows, s.all.points);
    job.options["context"] = fmt::format("median |error| {:.0f}%, p90 {:.0f}%", 100 * s.all.median, 100 * s.all.p90);
    const analysis::PlotOutcome p = analysis::draw_plots({job}, loop.beside(".plot.json"));
    if (p.drawn) s.plot = job.output + ".png";
    else s.plot_message = p.message;
  }
  return s;
}

}  // namespace paradnn
