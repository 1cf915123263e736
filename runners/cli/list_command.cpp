// `paradnn list CONFIG`: the points a sweep would run, with sizes and estimated time.
#include <fmt/core.h>

#include <filesystem>

#include "models/catalog.hpp"
#include "paradnn/config.hpp"
#include "platforms/registry.hpp"
#include "runners/cli/commands.hpp"
#include "runners/harness/point_loop.hpp"

namespace paradnn::cli {

namespace {

std::string human(double v, const char* unit) {
  const char* prefixes[] = {"", "K", "M", "G", "T", "P"};
  int i = 0;
  while (v >= 1000 && i < 5) {
    v /= 1000;
    ++i;
  }
  return fmt::format("{:.3g} {}{}", v, prefixes[i], unit);
}

std::string duration(double s) {
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

}  // namespace

void add_list(CLI::App& app) {
  struct Opts {
    std::string config, filter, shard, platform;
    bool summary = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("list", "List a sweep's points without running them: count, size, estimated time");
  cmd->add_option("config", o->config, "Sweep YAML")->required()->check(CLI::ExistingFile);
  cmd->add_option("--filter", o->filter, "Only points matching, e.g. 'family==fc,nodes<=1024'");
  cmd->add_option("--shard", o->shard, "Only shard i of n (i/n)");
  cmd->add_option("--platform", o->platform, "Platform file whose f32 peak sets the time estimate");
  cmd->add_flag("--summary", o->summary, "Only the totals");
  cmd->callback([o]() {
    const Config c = load_config(o->config, models::catalog());
    const auto points = select_points(c, o->filter, o->shard);
    // Estimate with the measured peak where a platform file exists; else assume 100 GFLOP/s.
    double rate = 1e11;
    std::string basis = "an assumed 100 GFLOP/s";
    const std::string pf = o->platform.empty() ? platform_file_path(make_backend("cpu")->platform().device_name) : o->platform;
    if (std::filesystem::exists(pf))
      if (const auto peak = load_platform_file(pf).peak_flops(DType::f32, 0)) {
        rate = *peak * 0.5;
        basis = "half the f32 peak in " + pf;
      }
    double total = 0, memory = 0;
    if (!o->summary)
      fmt::print("{:>5}  {:<6} {:<34} {:<5} {:<5} {:>6} {:>10} {:>10} {:>12} {:>8}\n", "#", "family", "model", "mode",
                 "dtype", "batch", "params", "memory", "FLOP/step", "est.");
    for (size_t i = 0; i < points.size(); ++i) {
      const GridEntry& e = points[i];
      const double t = estimated_point_seconds(e, c.run, rate);
      total += t;
      memory = std::max(memory, e.memory_bytes);
      if (o->summary) continue;
      const Graph g = build_graph(e.point, models::catalog());
      fmt::print("{:>5}  {:<6} {:<34} {:<5} {:<5} {:>6} {:>10} {:>10} {:>12} {:>8}\n", i + 1, e.point.family, g.name,
                 to_string(e.point.mode), to_string(e.point.dtype), e.point.batch, human(static_cast<double>(e.params), ""),
                 human(e.memory_bytes, "B"), human(e.flops_per_step, "FLOP"), duration(t));
    }
    fmt::print("{} points; largest memory estimate {}; estimated time {} (from {})\n", points.size(), human(memory, "B"),
               duration(total), basis);
  });
}

}  // namespace paradnn::cli
