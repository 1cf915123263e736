#include "runners/drivers/tuner.hpp"

#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "models/catalog.hpp"
#include "paradnn/atomic_file.hpp"
#include "paradnn/error.hpp"
#include "platforms/registry.hpp"
#include "runners/harness/point_loop.hpp"
#include "runners/harness/result_row.hpp"

namespace paradnn {

Settings default_settings(int physical_cores) { return {physical_cores, 1, Affinity::none}; }

// TensorFlow's and Intel's guides: intra-op = physical cores, inter-op = sockets/2 (at
// least 1), threads bound compactly (KMP_AFFINITY=compact ~ OMP_PROC_BIND=close).
Settings framework_settings(int physical_cores, int sockets) { return {physical_cores, std::max(1, sockets / 2), Affinity::close}; }

bool same_settings(const Settings& a, const Settings& b) {
  return a.intra_threads == b.intra_threads && a.inter_pools == b.inter_pools && a.affinity == b.affinity;
}

const Trial* WorkloadResult::find(const Settings& s) const {
  for (const Trial& t : trials)
    if (same_settings(t.settings, s)) return &t;
  return nullptr;
}

TuneKnobs read_knobs(const Config& c, int hardware_threads) {
  TuneKnobs k;
  for (int t = 1; t <= hardware_threads; ++t) k.intra_threads.push_back(t);
  for (int p = 1; p <= hardware_threads; p *= 2) k.inter_pools.push_back(p);
  const YAML::Node& n = c.tune;
  if (!n) return k;
  const auto fail = [&](const YAML::Node& at, const std::string& key, const std::string& what) {
    throw InputError(fmt::format("{}:{}: key 'tune.{}': {}", c.path, at.Mark().line + 1, key, what));
  };
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    if (key != "intra_threads" && key != "inter_pools" && key != "affinity" && key != "holdout_every" && key != "prune_below")
      fail(kv.first, key, "unknown key (expected intra_threads, inter_pools, affinity, holdout_every, prune_below)");
  }
  const auto ints = [&](const char* key, std::vector<int>& out) {
    if (!n[key]) return;
    out.clear();
    for (const auto& v : n[key]) {
      int x = 0;
      try {
        x = v.as<int>();
      } catch (const YAML::Exception&) {
        fail(v, key, "expected a list of integers");
      }
      if (x < 1) fail(v, key, "values must be >= 1");
      out.push_back(x);
    }
  };
  ints("intra_threads", k.intra_threads);
  ints("inter_pools", k.inter_pools);
  if (n["affinity"]) {
    k.affinity.clear();
    for (const auto& v : n["affinity"]) {
      try {
        k.affinity.push_back(parse_affinity(v.as<std::string>()));
      } catch (const InputError& e) {
        fail(v, "affinity", e.what());
      }
    }
  }
  if (n["holdout_every"]) k.holdout_every = n["holdout_every"].as<int>();
  if (n["prune_below"]) k.prune_below = n["prune_below"].as<double>();
  return k;
}

namespace {

// Batch ranges per family: each distinct tuned batch closes a range.
std::vector<std::pair<int64_t, int64_t>> batch_ranges(const std::set<int64_t>& batches) {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t lo = 1;
  for (auto it = batches.begin(); it != batches.end(); ++it) {
    const bool last = std::next(it) == batches.end();
    out.push_back({lo, last ? INT64_MAX : *it});
    lo = *it + 1;
  }
  return out;
}

// Best settings for a group of workloads, by geometric mean of fraction-of-best.
std::optional<SettingsRule> best_rule(const std::vector<const WorkloadResult*>& group) {
  if (group.empty()) return std::nullopt;
  std::optional<SettingsRule> best;
  double best_score = -1;
  for (const Trial& candidate : group.front()->trials) {
    double log_sum = 0;
    bool everywhere = true;
    for (const WorkloadResult* w : group) {
      const Trial* t = w->find(candidate.settings);
      if (!t || w->best < 0) {
        everywhere = false;
        break;
      }
      log_sum += std::log(t->examples_per_s / w->trials[static_cast<size_t>(w->best)].examples_per_s);
    }
    if (!everywhere) continue;
    const double score = std::exp(log_sum / static_cast<double>(group.size()));
    if (score > best_score) {
      best_score = score;
      best = SettingsRule{};
      best->settings = candidate.settings;
      best->evidence = fmt::format("{} workload(s); geometric mean {:.3f} of each workload's best", group.size(), score);
    }
  }
  return best;
}

}  // namespace

SettingsFile derive_rules(const std::vector<WorkloadResult>& workloads, const std::string& platform) {
  SettingsFile f;
  f.platform = platform;
  f.generated_utc = utc_now();
  // Per family and mode: training adds backward and update work to every step, so more
  // threads pay off earlier there than in inference, and extra pools cost far more.
  std::map<std::pair<std::string, std::string>, std::vector<const WorkloadResult*>> by_family;
  for (const WorkloadResult& w : workloads)
    if (!w.held_out && w.best >= 0) by_family[{w.point.family, std::string(to_string(w.point.mode))}].push_back(&w);
  std::vector<const WorkloadResult*> all;
  for (const auto& [family_mode, group] : by_family) {
    const auto& [family, mode] = family_mode;
    std::set<int64_t> batches;
    for (const auto* w : group) batches.insert(w->point.batch);
    for (const auto& [lo, hi] : batch_ranges(batches)) {
      std::vector<const WorkloadResult*> in;
      for (const auto* w : group)
        if (w->point.batch >= lo && w->point.batch <= hi) in.push_back(w);
      if (auto r = best_rule(in)) {
        r->family = family;
        r->mode = mode;
        r->batch_min = lo;
        r->batch_max = hi;
        f.rules.push_back(*r);
      }
    }
    all.insert(all.end(), group.begin(), group.end());
  }
  if (auto r = best_rule(all)) {  // fallback for families the sweep did not cover
    r->family = "*";
    f.rules.push_back(*r);
  }
  return f;
}

namespace {

std::string settings_text(const Settings& s) {
  return fmt::format("intra {} x pools {}, {}", s.intra_threads, s.inter_pools, to_string(s.affinity));
}

// Gain of `best` over `base` and whether the spreads (p10..p90) are apart.
std::string gain(const WorkloadResult& w, int base) {
  if (base < 0 || w.best < 0) return "n/a";
  const Trial& b = w.trials[static_cast<size_t>(w.best)];
  const Trial& o = w.trials[static_cast<size_t>(base)];
  const bool real = b.examples_lo > o.examples_hi;
  // Spreads measured while other work shared our CPUs say nothing about the settings.
  const char* verdict = b.busy || o.busy ? "machine busy" : real ? "real" : "noise";
  return fmt::format("{:.2f}x ({})", b.examples_per_s / o.examples_per_s, verdict);
}

std::string report_markdown(const TuneSummary& s, const PlatformInfo& platform) {
  std::string md = fmt::format("# Tuning report\n\nPlatform: {} ({} cores, {} hardware threads, ISA {}). Wall time {:.0f} s.\n\n",
                               platform.device_name, platform.cores, platform.hardware_threads, platform.isa, s.wall_s);
  md += "Every setting is measured twice, the second pass in reverse order, and the faster measurement kept "
        "(interference only slows a measurement down). ";
  md += "Speedups compare examples/s at the median; 'real' means the best setting's p10..p90 range lies above "
        "the baseline's, 'noise' that the ranges overlap, 'machine busy' that other work ran on our CPUs during either "
        "measurement and again when it was re-measured (the manifest has the load figures).\n\n";
  int measured = 0, busy = 0;
  for (const WorkloadResult& w : s.workloads)
    for (const Trial& t : w.trials) ++measured, busy += t.busy;
  if (busy)
    md += fmt::format("**{} of {} settings were measured while other work ran on this machine's CPUs, twice**; "
                      "their comparisons say 'machine busy'.\n\n", busy, measured);
  md += "| workload | mode | batch | best settings | examples/s | vs default | vs framework | held out |\n";
  md += "|---|---|---|---|---|---|---|---|\n";
  for (const WorkloadResult& w : s.workloads) {
    if (!w.skipped.empty()) {
      md += fmt::format("| {} | {} | {} | skipped: {} | | | | |\n", w.model_name, to_string(w.point.mode), w.point.batch, w.skipped);
      continue;
    }
    const Trial& b = w.trials[static_cast<size_t>(w.best)];
    md += fmt::format("| {} | {} | {} | {} | {:.4g} | {} | {} | {} |\n", w.model_name, to_string(w.point.mode),
                      w.point.batch, settings_text(b.settings), b.examples_per_s, gain(w, w.default_baseline),
                      gain(w, w.framework_baseline), w.held_out ? "yes" : "");
  }
  md += "\n## Derived rules\n\n| family | mode | batch | settings | evidence |\n|---|---|---|---|---|\n";
  for (const SettingsRule& r : s.rules.rules)
    md += fmt::format("| {} | {} | {}..{} | {} | {} |\n", r.family, r.mode, r.batch_min,
                      r.batch_max == INT64_MAX ? std::string("") : std::to_string(r.batch_max), settings_text(r.settings),
                      r.evidence);
  md += "\n## Held-out check\n\n| workload | mode | batch | rule settings | fraction of best |\n|---|---|---|---|---|\n";
  double log_sum = 0, worst = 1;
  int n = 0;
  for (const WorkloadResult& w : s.workloads) {
    if (!w.held_out || w.best < 0) continue;
    const auto rule = s.rules.lookup(w.point.family, w.point.batch, std::string(to_string(w.point.mode)));
    const Trial* t = rule ? w.find(*rule) : nullptr;
    if (!t) continue;
    const double frac = t->examples_per_s / w.trials[static_cast<size_t>(w.best)].examples_per_s;
    log_sum += std::log(frac);
    worst = std::min(worst, frac);
    ++n;
    md += fmt::format("| {} | {} | {} | {} | {:.3f} |\n", w.model_name, to_string(w.point.mode), w.point.batch,
                      settings_text(*rule), frac);
  }
  if (n) md += fmt::format("\nRule-chosen settings reach a geometric mean of {:.3f} (worst {:.3f}) of the best measured "
                           "settings on {} held-out workload(s).\n", std::exp(log_sum / n), worst, n);
  return md;
}

}  // namespace

namespace {

// Measured settings of a workload a resumed run found in the output: its rows read back.
WorkloadResult workload_from_rows(const GridEntry& e, const std::vector<const Row*>& rows) {
  WorkloadResult w;
  w.point = e.point;
  for (const Row* r : rows) {
    w.model_name = r->at("model_name");
    if (status_of(*r) == Status::skipped) w.skipped = r->at("reason");
    if (status_of(*r) != Status::ok) continue;
    Trial t;
    t.settings = {std::stoi(r->at("intra_threads")), std::stoi(r->at("inter_pools")), parse_affinity(r->at("affinity"))};
    t.m.median_s = std::stod(r->at("time_per_step_s_median"));
    t.m.p10_s = std::stod(r->at("time_per_step_s_p10"));
    t.m.p90_s = std::stod(r->at("time_per_step_s_p90"));
    const double ex = static_cast<double>(t.settings.inter_pools * e.point.batch);
    t.examples_per_s = ex / t.m.median_s;
    t.examples_lo = ex / t.m.p90_s;
    t.examples_hi = ex / t.m.p10_s;
    w.trials.push_back(t);
  }
  return w;
}

void rank_trials(WorkloadResult& w, const Settings& def, const Settings& fw) {
  for (size_t k = 0; k < w.trials.size(); ++k) {
    if (w.best < 0 || w.trials[k].examples_per_s > w.trials[static_cast<size_t>(w.best)].examples_per_s) w.best = static_cast<int>(k);
    if (same_settings(w.trials[k].settings, def)) w.default_baseline = static_cast<int>(k);
    if (same_settings(w.trials[k].settings, fw)) w.framework_baseline = static_cast<int>(k);
  }
}

}  // namespace

TuneSummary run_tune(const TuneOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const Config config = load_config(o.config_path, models::catalog());
  std::unique_ptr<Backend> backend = make_backend(o.backend);
  if (auto why = backend->unavailable()) throw InputError("backend " + o.backend + " cannot run here: " + *why);
  if (backend->simulated()) throw InputError("tuning measures real threads; " + o.backend + " is a simulated backend");
  const PlatformInfo platform = backend->platform();
  const TuneKnobs knobs = read_knobs(config, platform.hardware_threads);
  LoopOptions lo = LoopOptions::of(o.config_path, o.output, "tune-{}.csv", o.filter, o.resume, o.force);
  lo.progress = o.progress;
  PointLoop loop(config, lo);
  const std::vector<GridEntry>& points = loop.points();
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < points.size(); ++i) position[points[i].point.key()] = i;

  RunContext ctx;
  ctx.run_id = loop.run_id();
  ctx.config_path = o.config_path;
  ctx.backend_name = backend->name();
  ctx.platform = platform;

  std::vector<Settings> combos;
  for (int pools : knobs.inter_pools)
    for (Affinity a : knobs.affinity)
      for (int intra : knobs.intra_threads)
        if (pools * intra <= platform.hardware_threads) combos.push_back({intra, pools, a});
  const Settings def = default_settings(platform.cores);
  const Settings fw = framework_settings(platform.cores, platform.sockets);

  std::map<std::string, WorkloadResult> measured;  // this run's workloads, by point key
  std::vector<LoadRecord> point_loads;              // the point in flight's, for the manifest
  PointTask task;
  task.loads = [&](const GridEntry&) { return std::exchange(point_loads, {}); };
  task.columns = result_columns();
  task.describe = [&](const GridEntry& e) { return base_row(ctx, e.point, nullptr); };
  task.run = [&](const GridEntry& e) -> std::vector<Row> {
    const Point& p = e.point;
    WorkloadResult w;
    w.point = p;
    w.held_out = knobs.holdout_every > 0 && (position.at(p.key()) + 1) % static_cast<size_t>(knobs.holdout_every) == 0;
    const Graph g = build_graph(p, models::catalog());
    w.model_name = g.name;
    std::vector<Row> rows;
    if (auto why = backend->cannot_run(g, p.mode)) {
      w.skipped = *why;
      Row row = base_row(ctx, p, &g);
      set_status(row, Status::skipped, *why);
      measured[p.key()] = w;
      return {row};
    }
    // One measurement of `st`: its trial and row, or its failed row.
    const auto measure_once = [&](const Settings& st) -> std::pair<std::optional<Trial>, Row> {
      RunContext c = ctx;
      c.settings = st;
      c.intra_threads = st.intra_threads;
      Row row = base_row(c, p, &g);
      Trial t;
      t.settings = st;
      try {
        auto exe = backend->prepare(g, p.mode, st);
        // The busy-machine guard: a measurement other work shared our CPUs with is taken once
        // more; if the machine is still busy the trial says so and its comparisons do too.
        for (int attempt = 0; attempt < 2; ++attempt) {
          const LoadSample before = sample_load();
          t.m = time_steps(*exe, config.run, p.key());
          const LoadSample after = sample_load();
          const LoadVerdict v = judge_load(before, after);
          point_loads.push_back({fmt::format("{} {}{}", p.key(), settings_text(st), attempt ? " (re-measured)" : ""),
                                 before, after, v});
          t.busy = v.busy;
          if (!v.busy) break;
        }
        fill_measurement(row, c, p, g, t.m);
        set_status(row, Status::ok);
      } catch (const std::exception& err) {
        set_status(row, Status::failed, err.what());
        return {std::nullopt, row};
      }
      const double ex = static_cast<double>(st.inter_pools * p.batch);
      t.examples_per_s = ex / t.m.median_s;
      t.examples_lo = ex / t.m.p90_s;
      t.examples_hi = ex / t.m.p10_s;
      return {t, row};
    };
    std::vector<size_t> row_of;  // each trial's row
    const auto measure = [&](const Settings& st) {
      auto [t, row] = measure_once(st);
      rows.push_back(row);
      if (!t) return;
      row_of.push_back(rows.size() - 1);
      w.trials.push_back(*t);
    };
    double best = 0;
    for (size_t k = 0; k < combos.size(); ++k) {
      const Settings& st = combos[k];
      // Prune: once a (pools, affinity) branch falls clearly behind, skip its larger thread counts.
      // Held-out workloads are measured in full, so the rules' check never lacks a setting.
      const bool same_branch = k > 0 && combos[k - 1].inter_pools == st.inter_pools && combos[k - 1].affinity == st.affinity;
      if (same_branch && !w.held_out && !w.trials.empty() && same_settings(w.trials.back().settings, combos[k - 1]) &&
          w.trials.back().examples_per_s < knobs.prune_below * best && !same_settings(st, def) && !same_settings(st, fw)) {
        ++w.pruned;
        continue;
      }
      measure(st);
      if (!w.trials.empty()) best = std::max(best, w.trials.back().examples_per_s);
    }
    for (const Settings& base : {def, fw})
      if (!w.find(base)) measure(base);
    // A second pass in reverse order keeps each setting's faster measurement. Interference
    // (a vCPU the hypervisor lends elsewhere for a moment, a burst of other work) only ever
    // slows a measurement down, and it comes and goes: on a 2-vCPU VM one of every few
    // 2-thread measurements ran at 1-thread speed with no steal recorded.
    for (size_t i = w.trials.size(); i-- > 0;) {
      auto [again, row] = measure_once(w.trials[i].settings);
      if (again && again->examples_per_s > w.trials[i].examples_per_s) {
        w.trials[i] = *again;
        rows[row_of[i]] = row;
      }
    }
    measured[p.key()] = w;
    return rows;
  };
  ManifestInfo manifest = describe_run("paradnn tune " + o.config_path, *backend, def, config.run);
  manifest.settings = {{"swept", "intra_threads x inter_pools x affinity per workload (rows say which)"}};
  const LoopSummary l = loop.run(task, manifest);

  // Workloads in report order: this run's, and those a resumed run found in the output.
  std::map<std::string, std::vector<const Row*>> earlier;
  std::vector<Row> earlier_rows;
  if (l.already_done) earlier_rows = read_csv(loop.output(), {"point_key"}).rows;
  for (const Row& r : earlier_rows) earlier[r.at("point_key")].push_back(&r);
  TuneSummary s;
  for (const GridEntry& e : points) {
    const std::string key = e.point.key();
    WorkloadResult w = measured.count(key) ? measured[key] : earlier.count(key) ? workload_from_rows(e, earlier[key]) : WorkloadResult{};
    if (w.model_name.empty()) continue;  // not reached (interrupted)
    w.held_out = knobs.holdout_every > 0 && (position.at(key) + 1) % static_cast<size_t>(knobs.holdout_every) == 0;
    rank_trials(w, def, fw);
    s.workloads.push_back(std::move(w));
  }
  s.rules = derive_rules(s.workloads, platform.device_name);
  s.rules.tuned_cores = platform.cores;
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.report = report_markdown(s, platform);

  const std::string settings_path =
      o.settings_output.empty() ? "results/settings-" + machine_file_name(platform.device_name) + ".yaml" : o.settings_output;
  save_settings_file(s.rules, settings_path);
  const std::string report_path = o.report_output.empty() ? default_output(config, o.config_path, "tune-{}.md") : o.report_output;
  write_file_atomically(report_path, s.report);
  fmt::print("{}\nmeasurements: {}\nsettings: {}\nreport: {}\n", s.report, loop.output(), settings_path, report_path);
  return s;
}

}  // namespace paradnn
