// `paradnn model-error CONFIG RESULTS.csv`: tests the roofline performance model (the one
// the TPU backend predicts with) against this machine's measured rows. Each ok row's graph
// is rebuilt from the config, its step predicted from the CPU platform file's ceilings at
// the row's thread count, and the median absolute relative error reported per family and
// mode and overall.
#include <fmt/core.h>

#include <map>

#include "models/catalog.hpp"
#include "paradnn/config.hpp"
#include "paradnn/csv.hpp"
#include "paradnn/error.hpp"
#include "paradnn/grid.hpp"
#include "platforms/cpu/cpu_roofline.hpp"
#include "platforms/tpu/cpu_roofline_model.hpp"
#include "runners/commands.hpp"

namespace paradnn::cli {

void add_model_error(CLI::App& app) {
  struct Opts {
    std::string config, results, platform;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("model-error", "Median error of the roofline performance model against measured CPU rows");
  cmd->add_option("config", o->config, "The sweep YAML the results came from")->required()->check(CLI::ExistingFile);
  cmd->add_option("results", o->results, "Measured results CSV")->required()->check(CLI::ExistingFile);
  cmd->add_option("--platform", o->platform, "CPU platform file (default: this machine's, probed if missing)");
  cmd->callback([o]() {
    const Config c = load_config(o->config, models::catalog());
    std::map<std::string, Point> points;
    for (const GridEntry& e : expand(c, models::catalog())) points.emplace(e.point.key(), e.point);
    const PlatformFile pf = cpu::load_or_probe_platform(o->platform);
    std::map<std::string, std::vector<std::pair<double, double>>> groups;
    int unmatched = 0;
    for (const Row& r : read_results(o->results).rows) {
      if (r.at("status") != "ok") continue;
      const auto it = points.find(r.at("point_key"));
      if (it == points.end()) {
        ++unmatched;
        continue;
      }
      const Graph g = build_graph(it->second, models::catalog());
      const int threads = std::stoi(r.at("intra_threads"));
      const double predicted = tpu::predict_step_seconds_on_cpu(g, it->second.mode, pf, threads);
      const double measured = std::stod(r.at("time_per_step_s_median"));
      const std::string group = g.family + " " + std::string(to_string(it->second.mode));
      groups[group].push_back({predicted, measured});
      groups["all"].push_back({predicted, measured});
    }
    if (groups.empty()) throw InputError(o->results + ": no ok rows of " + o->config + "'s points");
    fmt::print("{:<12} {:>6} {:>22}\n", "family mode", "points", "median |error|");
    for (const auto& [group, pairs] : groups)
      fmt::print("{:<12} {:>6} {:>21.0f}%\n", group, pairs.size(), 100 * tpu::median_abs_relative_error(pairs));
    if (unmatched) fmt::print("{} rows are not points of {} and were left out\n", unmatched, o->config);
  });
}

}  // namespace paradnn::cli
