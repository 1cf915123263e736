#include "runners/harness/result_row.hpp"

#include <fmt/format.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace paradnn {

std::string utc_now() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

std::string format_number(double v) {
  if (!std::isfinite(v)) return "";
  return fmt::format("{:.6g}", v);
}

std::string repro_command(const RunContext& ctx, const Point& p) {
  std::string f = "family==" + p.family;
  for (const auto& [k, v] : p.hp) f += "," + k + "==" + to_string(v);
  f += fmt::format(",mode=={},dtype=={},batch=={}", to_string(p.mode), to_string(p.dtype), p.batch);
  std::string cmd = fmt::format("paradnn run {} --backend {} --filter '{}'", ctx.config_path, ctx.backend_name, f);
  if (ctx.settings.intra_threads > 0) cmd += fmt::format(" --threads {}", ctx.settings.intra_threads);
  return cmd + " -o repro.csv --force";
}

Row base_row(const RunContext& ctx, const Point& p, const Graph* g) {
  Row r;
  r["schema_version"] = std::to_string(kSchemaVersion);
  r["run_id"] = ctx.run_id;
  r["timestamp_utc"] = utc_now();
  r["platform"] = ctx.platform.platform;
  r["backend"] = ctx.backend_name;
  r["source"] = ctx.simulated ? "simulated" : "measured";
  r["device_name"] = ctx.platform.device_name;
  r["model_family"] = p.family;
  r["mode"] = std::string(to_string(p.mode));
  r["dtype"] = std::string(to_string(p.dtype));
  r["batch"] = std::to_string(p.batch);
  for (const auto& [k, v] : p.hp) r[k] = to_string(v);
  r["optimizer"] = p.mode == Mode::train ? std::string(to_string(p.optimizer)) : "";
  if (ctx.intra_threads > 0) r["intra_threads"] = std::to_string(ctx.intra_threads);
  r["inter_pools"] = std::to_string(ctx.settings.inter_pools);
  r["affinity"] = std::string(to_string(ctx.settings.affinity));
  r["point_key"] = p.key();
  r["repro"] = repro_command(ctx, p);
  if (g) {
    const StepTotals t = g->totals(p.mode);
    r["model_name"] = g->name;
    r["params"] = std::to_string(g->param_count());
    r["flops_per_step"] = format_number(t.flops);
    r["bytes_per_step"] = format_number(t.bytes);
    r["arithmetic_intensity"] = format_number(t.intensity());
    r["memory_estimated_bytes"] = format_number(g->memory(p.mode).total());
  }
  return r;
}

std::optional<std::string> measurement_problem(const Measurement& m) {
  for (const double v : {m.median_s, m.p10_s, m.p90_s, m.min_s})
    if (!(std::isfinite(v) && v > 0))
      return fmt::format("no positive step time was measured (median {} s over {} repetitions)", m.median_s, m.repetitions);
  return std::nullopt;
}

void fill_measurement(Row& r, const RunContext& ctx, const Point& p, const Graph& g, const Measurement& m) {
  // A zero time would make an `ok` row with no rate: that is a failed measurement.
  if (const auto why = measurement_problem(m)) throw std::runtime_error(*why);
  const StepTotals t = g.totals(p.mode);
  const double step = m.median_s;
  r["time_per_step_s_median"] = format_number(step);
  r["time_per_step_s_p10"] = format_number(m.p10_s);
  r["time_per_step_s_p90"] = format_number(m.p90_s);
  r["time_per_step_s_min"] = format_number(m.min_s);
  r["time_per_step_cv"] = format_number(m.cv);
  r["repetitions"] = std::to_string(m.repetitions);
  r["stop_reason"] = m.stop_reason;
  // With inter-op pools, one timed step runs every pool's instance once.
  const double instances = std::max(1, ctx.settings.inter_pools);
  const double flops_per_s = instances * t.flops / step;
  // An RNN "example" is a sequence, as ParaDnn counted it.
  r["examples_per_s"] = format_number(instances * static_cast<double>(p.batch) / step);
  r["flops_per_s"] = format_number(flops_per_s);
  r["bandwidth_bytes_per_s"] = format_number(instances * t.bytes / step);
  if (!ctx.ceilings) return;
  const auto peak = ctx.ceilings->peak_flops(p.dtype, ctx.intra_threads);
  const auto bw = ctx.ceilings->memory_bandwidth(ctx.intra_threads);
  if (!peak) return;
  r["peak_flops_per_s"] = format_number(*peak);
  const Placement pl = place_on_roofline(flops_per_s, t.intensity(), *peak, bw.value_or(0));
  r["utilization"] = format_number(pl.utilization);
  if (bw) r["bound"] = pl.bound;
}

}  // namespace paradnn

namespace paradnn {

void write_op_rows(CsvWriter& out, Row& row, const Graph& g, Executable& exe, const Measurement& m,
                   const RunContext& ctx) {
  const int iterations = static_cast<int>(std::clamp<long long>(m.iterations, 3, 50));
  const std::vector<OpTime> times = exe.profile(iterations);
  if (times.empty()) return;
  const auto peak = ctx.ceilings ? ctx.ceilings->peak_flops(g.dtype, ctx.intra_threads) : std::nullopt;
  const auto bw = ctx.ceilings ? ctx.ceilings->memory_bandwidth(ctx.intra_threads) : std::nullopt;
  double sum = 0;
  for (const OpTime& t : times) {
    sum += t.seconds;
    Row r;
    r["schema_version"] = std::to_string(kSchemaVersion);
    r["run_id"] = ctx.run_id;
    r["backend"] = ctx.backend_name;
    r["source"] = ctx.simulated ? "simulated" : "measured";
    r["point_key"] = row["point_key"];
    r["op_index"] = std::to_string(t.op);
    r["op_name"] = t.name;
    r["op_kind"] = std::string(t.op >= 0 ? to_string(g.op(t.op).kind) : to_string(t.phase));
    r["phase"] = std::string(to_string(t.phase));
    r["dtype"] = std::string(to_string(t.op >= 0 ? g.op(t.op).dtype : g.dtype));
    r["time_s"] = format_number(t.seconds);
    if (m.median_s > 0) r["share_of_step"] = format_number(t.seconds / m.median_s);
    r["flops"] = format_number(t.flops);
    r["bytes"] = format_number(t.bytes);
    const double intensity = t.bytes > 0 ? t.flops / t.bytes : 0;
    r["arithmetic_intensity"] = format_number(intensity);
    if (t.seconds > 0) r["flops_per_s"] = format_number(t.flops / t.seconds);
    if (!t.bound.empty()) r["bound"] = t.bound;
    else if (peak && bw && t.bytes > 0) r["bound"] = place_on_roofline(0, intensity, *peak, *bw).bound;
    r["impl"] = t.impl;
    out.write(r);
  }
  row["overhead_s"] = format_number(m.median_s - sum);
}

}  // namespace paradnn
