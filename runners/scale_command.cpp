// `paradnn scale CONFIG --nodes 2,4,...,1024 --network 100Gbit/s,2us`: the data-parallel
// scaling model (analysis/scaling_model.hpp) fed with this machine's measured single-node
// step per point (per-op forward, backward and update times from Executable::profile, and
// the gradients each backward op completes), or with analytic op times at --node-flops.
// Writes rows with source=simulated, one per point, node count, algorithm and overlap.
#include <fmt/core.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "analysis/scaling_model.hpp"
#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/cpu/cpu_platform.hpp"
#include "platforms/cpu/cpu_roofline.hpp"
#include "platforms/registry.hpp"
#include "runners/commands.hpp"
#include "runners/result_row.hpp"
#include "runners/sweep.hpp"

namespace paradnn {

namespace {

// Bytes of gradient each op completes: a weight is complete after its first user in graph
// order (backward runs in reverse), for an untied weight its owner. f32 gradients.
std::map<int, double> gradient_bytes_by_op(const Graph& g) {
  std::map<int, double> out;
  for (const GradientBuffer& b : g.gradients_in_backward_order()) out[g.first_user(b.op)] += 4.0 * static_cast<double>(b.elements);
  return out;
}

// The measured step: rows before the first backward row are forward (their reorders too);
// a reorder during backward belongs to the backward op before it.
StepProfile measured_profile(const Graph& g, int iterations) {
  const auto exe = make_backend("cpu", {})->prepare(g, Mode::train, {});
  exe->step();
  const auto grads = gradient_bytes_by_op(g);
  StepProfile p;
  bool backward = false;
  for (const OpTime& t : exe->profile(iterations)) {
    if (t.phase == "update") {
      p.update_s += t.seconds;
      continue;
    }
    if (t.phase == "bwd") backward = true;
    if (!backward) {
      p.forward_s += t.seconds;
    } else if (t.op >= 0 && (p.backward.empty() || p.backward.back().name != g.op(t.op).name)) {
      const auto it = grads.find(t.op);
      p.backward.push_back({g.op(t.op).name, t.seconds, it == grads.end() ? 0 : it->second});
    } else if (!p.backward.empty()) {
      p.backward.back().seconds += t.seconds;
    }
  }
  // A weight whose op had no backward row of its own (none expected): ready at the end.
  double listed = p.gradient_bytes(), all = 0;
  for (const auto& [op, bytes] : grads) all += bytes;
  if (all > listed && !p.backward.empty()) p.backward.back().gradient_bytes += all - listed;
  return p;
}

// Analytic op times: each op's FLOPs at `flops_per_s` (an attained, not peak, rate).
StepProfile analytic_profile(const Graph& g, double flops_per_s) {
  const auto grads = gradient_bytes_by_op(g);
  StepProfile p;
  for (const Op& op : g.ops) p.forward_s += op.cost.fwd_flops / flops_per_s;
  for (int i = static_cast<int>(g.ops.size()) - 1; i >= 0; --i) {
    const OpCost& c = g.op(i).cost;
    const auto it = grads.find(i);
    const double s = (c.bwd_data_flops + c.bwd_weight_flops) / flops_per_s;
    if (s > 0 || it != grads.end()) p.backward.push_back({g.op(i).name, s, it == grads.end() ? 0 : it->second});
    p.update_s += c.update_flops / flops_per_s;
  }
  return p;
}

// Alpha and beta of the ring formula fitted (least squares) to the platform file's samples
// at their largest rank count: t = 2(R-1) alpha + 2(R-1)/R n / beta.
Network fitted_network(const std::string& path) {
  const PlatformFile f = load_platform_file(path);
  if (f.allreduce.empty()) throw InputError(path + ": no allreduce samples (run mpirun -np R paradnn roofline --allreduce)");
  int r = 0;
  for (const auto& a : f.allreduce) r = std::max(r, a.ranks);
  double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
  for (const auto& a : f.allreduce)
    if (a.ranks == r) sx += a.bytes, sy += a.seconds, sxx += a.bytes * a.bytes, sxy += a.bytes * a.seconds, ++n;
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx), intercept = (sy - slope * sx) / n;
  if (!(slope > 0) || r < 2) throw InputError(path + ": allreduce samples do not fit t = a + b n");
  Network net;
  net.bytes_per_s = 2.0 * (r - 1) / r / slope;
  net.alpha_s = std::max(0.0, intercept / (2.0 * (r - 1)));
  return net;
}

}  // namespace

namespace cli {

void add_scale(CLI::App& app) {
  struct Opts {
    std::string config, filter, output, network = "100Gbit/s,2us", scaling = "weak", platform;
    std::vector<int> nodes{2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    double bucket_mb = 2, node_flops = 0;
    int iterations = 5;
    bool force = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "scale", "Predict data-parallel step time and efficiency on 2..1024 nodes (ring and tree all-reduce, with and without overlap)");
  cmd->add_option("config", o->config, "Sweep YAML (its train points)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--filter", o->filter, "Only points matching");
  cmd->add_option("--nodes", o->nodes, "Node counts")->delimiter(',')->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--network", o->network,
                  "BANDWIDTH,LATENCY per link (e.g. 100Gbit/s,2us), or 'measured': fitted to the platform file's all-reduce")
      ->capture_default_str();
  cmd->add_option("--platform", o->platform, "Platform file for --network measured (default: this CPU's)");
  cmd->add_option("--scaling", o->scaling, "weak: batch per node; strong: the config's batch is global")
      ->check(CLI::IsMember({"strong", "weak"}))
      ->capture_default_str();
  cmd->add_option("--bucket-mb", o->bucket_mb, "Gradient bucket size in MiB")->capture_default_str();
  cmd->add_option("--node-flops", o->node_flops,
                  "Instead of timing this machine: each op's FLOPs at this attained FLOP/s per node (e.g. 1e12)");
  cmd->add_option("--iterations", o->iterations, "Profiled steps per point")->capture_default_str();
  cmd->add_option("-o,--output", o->output, "Simulated rows (default results/<config>-scale.csv)");
  cmd->add_flag("--force", o->force, "Overwrite the output");
  cmd->callback([o]() {
    const Network net = o->network == "measured"
                            ? fitted_network(o->platform.empty() ? cpu::default_platform_file_path() : o->platform)
                            : parse_network(o->network);
    const Config config = load_config(o->config, models::catalog());
    const std::string stem = config.name.empty() ? std::filesystem::path(o->config).stem().string() : config.name;
    const std::string path = o->output.empty() ? "results/" + stem + "-scale.csv" : o->output;
    if (std::filesystem::exists(path) && !o->force) throw InputError(path + " exists: pass --force to overwrite");
    CsvWriter out(path, result_columns(), false);
    RunContext ctx;
    ctx.run_id = utc_now().substr(0, 10) + "-scale";
    ctx.config_path = o->config;
    ctx.simulated = true;
    ctx.platform = make_backend("cpu", {})->platform();
    ctx.intra_threads = omp_get_max_threads();
    const std::string node = o->node_flops > 0 ? fmt::format("analytic node at {:.3g} FLOP/s", o->node_flops)
                                               : fmt::format("node = this machine's measured step ({} threads)", ctx.intra_threads);
    fmt::print("network: {:.3g} GB/s per link, alpha {:.3g} us; {}; {} scaling; buckets {} MiB\n", net.bytes_per_s / 1e9,
               net.alpha_s * 1e6, node, o->scaling, o->bucket_mb);
    for (const GridEntry& e : select_points(config, o->filter, "")) {
      const Point& p = e.point;
      if (p.mode != Mode::train) continue;
      const Graph g = build_graph(p, models::catalog());
      const StepProfile one = o->node_flops > 0 ? analytic_profile(g, o->node_flops) : measured_profile(g, o->iterations);
      fmt::print("\n{}: single node {:.4g} s/step (fwd {:.3g}, bwd {:.3g}, update {:.3g}), gradients {:.3g} MB\n",
                 p.key(), one.compute_s(), one.forward_s, one.backward_s(), one.update_s, one.gradient_bytes() / 1e6);
      fmt::print("  {:>6} {:>22} {:>22} {:>22} {:>22}\n", "nodes", "ring+overlap", "ring", "tree+overlap", "tree");
      for (int r : o->nodes) {
        const bool strong = o->scaling == "strong";
        const StepProfile node_step = strong ? one.scaled_compute(1.0 / r) : one;
        std::string line = fmt::format("  {:>6}", r);
        for (Algorithm a : {Algorithm::ring, Algorithm::tree})
          for (bool overlap : {true, false}) {
            const Prediction pr = predict_step(node_step, r, a, net, overlap, o->bucket_mb * (1 << 20));
            const double eff = strong ? one.compute_s() / (r * pr.step_s) : one.compute_s() / pr.step_s;
            Point gp = p;
            gp.batch = strong ? p.batch : p.batch * r;
            ctx.backend_name = "allreduce-model:" + to_string(a);
            Row row = base_row(ctx, gp, nullptr);
            row["model_name"] = g.name;
            row["params"] = std::to_string(g.param_count());
            row["status"] = "ok";
            row["time_per_step_s_median"] = format_number(pr.step_s);
            row["examples_per_s"] = format_number(static_cast<double>(gp.batch) / pr.step_s);
            row["ranks"] = std::to_string(r);
            row["scaling"] = o->scaling;
            row["comm_s"] = format_number(pr.comm_s);
            row["overlap_fraction"] = format_number(pr.overlap_fraction);
            row["scaling_efficiency"] = format_number(eff);
            row["kernels"] = overlap ? "overlap" : "no-overlap";
            row["reason"] = fmt::format("alpha-beta {} all-reduce, {}, {} bucket(s); {:.3g} GB/s, {:.3g} us; {}{}",
                                        to_string(a), overlap ? "overlapped with backward" : "after backward",
                                        pr.buckets, net.bytes_per_s / 1e9, net.alpha_s * 1e6, node,
                                        strong ? "; compute scaled by 1/R" : "");
            row["repro"] = fmt::format("paradnn scale {} --nodes {} --network {} --scaling {}", o->config, r, o->network,
                                       o->scaling);
            out.write(row);
            line += fmt::format(" {:>8.1f}x ({:>5.1f}%)   ", r * eff, 100 * eff);
          }
        fmt::print("{}\n", line);
      }
    }
    fmt::print("\nrows: {}\n", path);
  });
}

}  // namespace cli
}  // namespace paradnn
