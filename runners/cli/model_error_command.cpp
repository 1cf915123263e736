// `paradnn model-error`: a performance model against measurements.
//   paradnn model-error CONFIG RESULTS.csv            the CPU roofline model against this machine's rows
//   paradnn model-error --published CSV --backend B   a TPU or GPU model against published data
// (runners/drivers/model_error.hpp, published_error.hpp): a row per point, the median error.
#include <fmt/core.h>

#include "paradnn/error.hpp"
#include "runners/cli/commands.hpp"
#include "runners/drivers/model_error.hpp"
#include "runners/drivers/published_error.hpp"

namespace paradnn::cli {

namespace {

void print_published(const PublishedErrorSummary& s, const std::string& backend) {
  const auto line = [](const std::string& what, const ErrorStats& e) {
    fmt::print("  {:<22} {:>6} {:>9.1f}% {:>7.1f}% {:>9.2f}x\n", what, e.points, 100 * e.median, 100 * e.p90, e.median_ratio);
  };
  fmt::print("{} against published '{}' rows ({}), training examples/s:\n", backend, s.rows, s.dtype);
  fmt::print("  {:<22} {:>6} {:>10} {:>8} {:>10}\n", "group", "points", "median|e|", "p90|e|", "pred/meas");
  line("all", s.all);
  for (const auto& [b, e] : s.by_bound) line("bound=" + b, e);
  for (const auto& [k, values] : s.by_hyperparameter)
    for (const auto& [v, e] : values) line(fmt::format("{}={}", k, v), e);
  if (s.refused) {
    fmt::print("{} published points the model refused:\n", s.refused);
    for (const std::string& r : s.reasons) fmt::print("  {}\n", r);
  }
  fmt::print("rows: {}\n", s.output);
  if (!s.plot.empty()) fmt::print("plot: {}\n", s.plot);
  else if (!s.plot_message.empty()) fmt::print("no plot: {}\n", s.plot_message);
}

}  // namespace

void add_model_error(CLI::App& app) {
  auto o = std::make_shared<ModelErrorOptions>();
  auto p = std::make_shared<PublishedErrorOptions>();
  CLI::App* cmd = app.add_subcommand("model-error", "Error of a performance model against measured or published rows");
  cmd->add_option("config", o->config_path, "The sweep YAML the results came from")->check(CLI::ExistingFile);
  cmd->add_option("results", o->results, "Measured results CSV")->check(CLI::ExistingFile);
  cmd->add_option("--platform", o->platform, "CPU platform file (default: this machine's, probed if missing)");
  cmd->add_option("--published", p->published,
                  "Published measurements (columns platform, layers, nodes, input, output, batch, examples_per_s), "
                  "e.g. ../shared/calibration/paradnn-fc-published-calibration.csv")
      ->check(CLI::ExistingFile);
  cmd->add_option("--backend", p->backend, "With --published: the model, e.g. tpu:v2-8 or gpu-model:v100");
  cmd->add_option("--rows", p->rows, "With --published: rows whose platform starts with this (default: from --backend)");
  cmd->add_option("--dtype", p->dtype, "With --published: dtype the points ran in (default: from the rows' platform)");
  auto no_plot = std::make_shared<bool>(false);
  cmd->add_flag("--no-plot", *no_plot, "With --published: no predicted-vs-measured plot");
  cmd->add_option("--filter", o->filter, "Only points matching");
  cmd->add_option("-o,--output", o->output, "Predicted vs measured rows (default results/<name>.model-error.csv)");
  cmd->add_flag("--resume", o->resume, "Predict only the points the output lacks");
  cmd->add_flag("--force", o->force, "Overwrite an existing output");
  cmd->callback([o, p, no_plot]() {
    if (!p->published.empty()) {
      if (p->backend.empty()) throw InputError("model-error --published needs --backend (tpu:v2-8, gpu-model:v100, ...)");
      if (!o->config_path.empty()) throw InputError("model-error: give CONFIG RESULTS or --published, not both");
      p->output = o->output;
      p->filter = o->filter;
      p->resume = o->resume;
      p->force = o->force;
      p->plot = !*no_plot;
      print_published(run_published_error(*p), p->backend);
      return;
    }
    if (o->config_path.empty() || o->results.empty())
      throw InputError("model-error: expected CONFIG RESULTS.csv (measured rows) or --published CSV --backend B");
    const ModelErrorSummary s = run_model_error(*o);
    fmt::print("{:<12} {:>6} {:>22}\n", "family mode", "points", "median |error|");
    for (const auto& [group, g] : s.groups) fmt::print("{:<12} {:>6} {:>21.0f}%\n", group, g.first, 100 * g.second);
    if (s.unmatched) fmt::print("{} rows are not points of {} and were left out\n", s.unmatched, o->config_path);
    fmt::print("rows: {}\n", s.output);
  });
}

}  // namespace paradnn::cli
