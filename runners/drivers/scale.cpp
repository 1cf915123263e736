#include "runners/drivers/scale.hpp"

#include <fmt/core.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "models/catalog.hpp"
#include "paradnn/error.hpp"
#include "platforms/model/scaling_model.hpp"
#include "platforms/registry.hpp"
#include "runners/harness/point_loop.hpp"
#include "runners/harness/result_row.hpp"

namespace paradnn {

using namespace model;

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
StepProfile measured_profile(Backend& backend, const Graph& g, int iterations) {
  const auto exe = backend.prepare(g, Mode::train, {});
  exe->step();
  const auto grads = gradient_bytes_by_op(g);
  StepProfile p;
  bool backward = false;
  for (const OpTime& t : exe->profile(iterations)) {
    if (t.phase == Phase::update) {
      p.update_s += t.seconds;
      continue;
    }
    if (t.phase == Phase::bwd) backward = true;
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
  net.bytes_per_s = bus_bandwidth(1.0 / slope, r);  // the ring moves 2(R-1)/R of the data
  net.alpha_s = std::max(0.0, intercept / (2.0 * (r - 1)));
  return net;
}

}  // namespace

std::string run_scale(const ScaleOptions& o) {
  const auto say = [&](const std::string& line) {
    if (o.say) o.say(line);
  };
  if (o.nodes.empty()) throw InputError("--nodes: give at least one node count");
  std::unique_ptr<Backend> backend = make_backend("cpu", {});
  const Network net = o.network == "measured"
                          ? fitted_network(o.platform.empty() ? platform_file_path(backend->platform().device_name) : o.platform)
                          : parse_network(o.network);
  const Config config = load_config(o.config_path, models::catalog());
  PointLoop loop(config, LoopOptions::of(o.config_path, o.output, "{}-scale.csv", o.filter, o.resume, o.force));
  RunContext ctx;
  ctx.run_id = loop.run_id();
  ctx.config_path = o.config_path;
  ctx.simulated = true;
  ctx.platform = backend->platform();
  ctx.intra_threads = omp_get_max_threads();
  const std::string node = o.node_flops > 0 ? fmt::format("analytic node at {:.3g} FLOP/s", o.node_flops)
                                            : fmt::format("node = this machine's measured step ({} threads)", ctx.intra_threads);
  say(fmt::format("network: {:.3g} GB/s per link, alpha {:.3g} us; {}; {} scaling; buckets {} MiB", net.bytes_per_s / 1e9,
                  net.alpha_s * 1e6, node, o.scaling, o.bucket_mb));
  PointTask task;
  task.columns = result_columns();
  task.wants = [](const GridEntry& e) { return e.point.mode == Mode::train; };
  // A point's rows name the global batch at each node count; they are written together, so
  // the first one tells --resume the point is done.
  const auto global = [&](const Point& p, int nodes) {
    Point gp = p;
    if (o.scaling != "strong") gp.batch = p.batch * nodes;
    return gp;
  };
  task.key = [&](const GridEntry& e) { return global(e.point, o.nodes.front()).key(); };
  task.describe = [&](const GridEntry& e) { return base_row(ctx, e.point, nullptr); };
  task.run = [&](const GridEntry& e) {
    const Point& p = e.point;
    std::vector<Row> rows;
    const Graph g = build_graph(p, models::catalog());
    const StepProfile one = o.node_flops > 0 ? analytic_profile(g, o.node_flops) : measured_profile(*backend, g, o.iterations);
    say(fmt::format("\n{}: single node {:.4g} s/step (fwd {:.3g}, bwd {:.3g}, update {:.3g}), gradients {:.3g} MB", p.key(),
                    one.compute_s(), one.forward_s, one.backward_s(), one.update_s, one.gradient_bytes() / 1e6));
    say(fmt::format("  {:>6} {:>22} {:>22} {:>22} {:>22}", "nodes", "ring+overlap", "ring", "tree+overlap", "tree"));
    for (int r : o.nodes) {
      const bool strong = o.scaling == "strong";
      const StepProfile node_step = strong ? one.scaled_compute(1.0 / r) : one;
      std::string line = fmt::format("  {:>6}", r);
      for (Algorithm a : {Algorithm::ring, Algorithm::tree})
        for (bool overlap : {true, false}) {
          const Prediction pr = predict_step(node_step, r, a, net, overlap, o.bucket_mb * (1 << 20));
          const double eff = strong ? one.compute_s() / (r * pr.step_s) : one.compute_s() / pr.step_s;
          const Point gp = global(p, r);
          RunContext c = ctx;
          c.backend_name = "allreduce-model:" + to_string(a);
          Row row = base_row(c, gp, nullptr);
          row["model_name"] = g.name;
          row["params"] = std::to_string(g.param_count());
          set_status(row, Status::ok);
          row["time_per_step_s_median"] = format_number(pr.step_s);
          row["examples_per_s"] = format_number(static_cast<double>(gp.batch) / pr.step_s);
          row["ranks"] = std::to_string(r);
          row["scaling"] = o.scaling;
          row["comm_s"] = format_number(pr.comm_s);
          row["overlap_fraction"] = format_number(pr.overlap_fraction);
          row["scaling_efficiency"] = format_number(eff);
          row["kernels"] = overlap ? "overlap" : "no-overlap";
          row["reason"] = fmt::format("alpha-beta {} all-reduce, {}, {} bucket(s); {:.3g} GB/s, {:.3g} us; {}{}",
                                      to_string(a), overlap ? "overlapped with backward" : "after backward", pr.buckets,
                                      net.bytes_per_s / 1e9, net.alpha_s * 1e6, node, strong ? "; compute scaled by 1/R" : "");
          row["repro"] = fmt::format("paradnn scale {} --nodes {} --network {} --scaling {}", o.config_path, r, o.network,
                                     o.scaling);
          rows.push_back(row);
          line += fmt::format(" {:>8.1f}x ({:>5.1f}%)   ", r * eff, 100 * eff);
        }
      say(line);
    }
    return rows;
  };
  ManifestInfo manifest = describe_run("paradnn scale " + o.config_path, *backend, Settings{}, config.run);
  manifest.simulated = true;
  manifest.method = "alpha-beta all-reduce model over " + node;
  loop.run(task, manifest);
  return loop.output();
}

}  // namespace paradnn
