#include "paradnn/platform_file.hpp"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "paradnn/atomic_file.hpp"
#include "paradnn/dtype.hpp"
#include "paradnn/error.hpp"

namespace paradnn {

namespace {

// Shortest text that reads back as the same double, so save/load round-trips exactly.
std::string num(double v) { return fmt::format("{}", v); }

void emit_machine(YAML::Emitter& out, const PlatformInfo& m) {
  out << YAML::Key << "machine" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "platform" << YAML::Value << m.platform;
  out << YAML::Key << "device_name" << YAML::Value << m.device_name;
  out << YAML::Key << "isa" << YAML::Value << m.isa;
  out << YAML::Key << "cores" << YAML::Value << m.cores;
  out << YAML::Key << "sockets" << YAML::Value << m.sockets;
  out << YAML::Key << "hardware_threads" << YAML::Value << m.hardware_threads;
  out << YAML::Key << "memory_bytes" << YAML::Value << num(m.memory_bytes);
  out << YAML::Key << "versions" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m.versions) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap << YAML::EndMap;
}

void emit_compute(YAML::Emitter& out, const std::vector<ComputeCeiling>& cs) {
  out << YAML::Key << "compute" << YAML::Value << YAML::BeginSeq;
  for (const ComputeCeiling& c : cs) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "dtype" << YAML::Value << c.dtype;
    out << YAML::Key << "threads" << YAML::Value << c.threads;
    out << YAML::Key << "flops_per_s" << YAML::Value << num(c.flops_per_s);
    out << YAML::Key << "spread" << YAML::Value << num(c.spread);
    out << YAML::Key << "method" << YAML::Value << c.method;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void emit_bandwidth(YAML::Emitter& out, const std::vector<BandwidthCeiling>& bs) {
  out << YAML::Key << "bandwidth" << YAML::Value << YAML::BeginSeq;
  for (const BandwidthCeiling& b : bs) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "level" << YAML::Value << b.level;
    out << YAML::Key << "threads" << YAML::Value << b.threads;
    out << YAML::Key << "bytes_per_s" << YAML::Value << num(b.bytes_per_s);
    out << YAML::Key << "spread" << YAML::Value << num(b.spread);
    out << YAML::Key << "working_set_bytes" << YAML::Value << num(b.working_set_bytes);
    out << YAML::Key << "kernel" << YAML::Value << b.kernel;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

// Reads fields of one YAML file; every failure names file:line:col and the key.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& what) const {
    const YAML::Mark m = at.Mark();
    std::string where = path_;
    if (m.line >= 0) where += fmt::format(":{}:{}", m.line + 1, m.column + 1);
    throw InputError(fmt::format("{}: key '{}': {}", where, key, what));
  }

  // A required field; a missing one is reported at its parent mapping.
  YAML::Node field(const YAML::Node& map, const std::string& key) const {
    if (!map.IsMap()) fail(map, key, "expected a mapping holding '" + key + "'");
    const YAML::Node n = map[key];
    if (!n) fail(map, key, "missing");
    return n;
  }

  std::string text(const YAML::Node& map, const std::string& key) const {
    const YAML::Node n = field(map, key);
    if (!n.IsScalar()) fail(n, key, "expected a string");
    return n.Scalar();
  }

  double number(const YAML::Node& map, const std::string& key) const {
    const YAML::Node n = field(map, key);
    double v = 0;
    if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v))
      fail(n, key, "expected a number, got '" + (n.IsScalar() ? n.Scalar() : std::string("a collection")) + "'");
    return v;
  }

  int integer(const YAML::Node& map, const std::string& key) const {
    const YAML::Node n = field(map, key);
    int v = 0;
    if (!n.IsScalar() || !YAML::convert<int>::decode(n, v))
      fail(n, key, "expected an integer, got '" + (n.IsScalar() ? n.Scalar() : std::string("a collection")) + "'");
    return v;
  }

  YAML::Node sequence(const YAML::Node& map, const std::string& key) const {
    const YAML::Node n = field(map, key);
    if (!n.IsSequence()) fail(n, key, "expected a list");
    return n;
  }

  PlatformInfo machine(const YAML::Node& root) const {
    const YAML::Node m = field(root, "machine");
    PlatformInfo p;
    p.platform = text(m, "platform");
    p.device_name = text(m, "device_name");
    p.isa = text(m, "isa");
    p.cores = integer(m, "cores");
    p.sockets = integer(m, "sockets");
    p.hardware_threads = integer(m, "hardware_threads");
    p.memory_bytes = number(m, "memory_bytes");
    const YAML::Node v = field(m, "versions");
    if (!v.IsMap()) fail(v, "versions", "expected a mapping of library name to version");
    for (const auto& kv : v) {
      if (!kv.second.IsScalar()) fail(kv.second, kv.first.Scalar(), "expected a version string");
      p.versions[kv.first.Scalar()] = kv.second.Scalar();
    }
    return p;
  }

  PlatformFile file(const YAML::Node& root) const {
    PlatformFile f;
    f.machine = machine(root);
    f.date_utc = text(root, "date_utc");
    f.settings = text(root, "settings");
    // A literal block reads back with a final newline the saved text did not have.
    while (!f.settings.empty() && f.settings.back() == '\n') f.settings.pop_back();
    for (const YAML::Node& c : sequence(root, "compute"))
      f.compute.push_back({text(c, "dtype"), integer(c, "threads"), number(c, "flops_per_s"), number(c, "spread"),
                           text(c, "method")});
    for (const YAML::Node& b : sequence(root, "bandwidth"))
      f.bandwidth.push_back({text(b, "level"), integer(b, "threads"), number(b, "bytes_per_s"), number(b, "spread"),
                             number(b, "working_set_bytes"), text(b, "kernel")});
    if (root["allreduce"])
      for (const YAML::Node& a : sequence(root, "allreduce"))
        f.allreduce.push_back({integer(a, "ranks"), number(a, "bytes"), number(a, "seconds"),
                               number(a, "algbw_bytes_per_s"), number(a, "busbw_bytes_per_s"), text(a, "method")});
    return f;
  }

 private:
  std::string path_;
};

template <typename Ceiling, typename Match, typename Value>
std::optional<double> best_at_nearest(const std::vector<Ceiling>& all, int threads, Match match, Value value) {
  std::vector<int> counts;
  for (const Ceiling& c : all)
    if (match(c)) counts.push_back(c.threads);
  if (counts.empty()) return std::nullopt;
  const int n = nearest_threads(counts, threads);
  double best = 0;
  for (const Ceiling& c : all)
    if (match(c) && c.threads == n) best = std::max(best, value(c));
  return best > 0 ? std::optional<double>(best) : std::nullopt;
}

}  // namespace

int nearest_threads(const std::vector<int>& counts, int want) {
  int best = counts.front();
  for (int c : counts) {
    if (want <= 0) {
      best = std::max(best, c);
    } else {
      const int d = std::abs(c - want), bd = std::abs(best - want);
      if (d < bd || (d == bd && c > best)) best = c;
    }
  }
  return best;
}

std::optional<double> PlatformFile::peak_flops(DType t, int threads) const { return peak_flops(std::string(to_string(t)), threads); }

std::optional<double> PlatformFile::peak_flops(const std::string& name, int threads) const {
  return best_at_nearest(
      compute, threads, [&](const ComputeCeiling& c) { return c.dtype == name; },
      [](const ComputeCeiling& c) { return c.flops_per_s; });
}

std::optional<double> PlatformFile::memory_bandwidth(int threads) const {
  return best_at_nearest(
      bandwidth, threads, [](const BandwidthCeiling& b) { return b.level == "DRAM" || b.level == "HBM"; },
      [](const BandwidthCeiling& b) { return b.bytes_per_s; });
}

void save_platform_file(const PlatformFile& f, const std::string& path) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  emit_machine(out, f.machine);
  out << YAML::Key << "date_utc" << YAML::Value << f.date_utc;
  out << YAML::Key << "settings" << YAML::Value << YAML::Literal << f.settings;
  emit_compute(out, f.compute);
  emit_bandwidth(out, f.bandwidth);
  if (!f.allreduce.empty()) {
    out << YAML::Key << "allreduce" << YAML::Value << YAML::BeginSeq;
    for (const AllreduceCeiling& a : f.allreduce) {
      out << YAML::Flow << YAML::BeginMap;
      out << YAML::Key << "ranks" << YAML::Value << a.ranks;
      out << YAML::Key << "bytes" << YAML::Value << num(a.bytes);
      out << YAML::Key << "seconds" << YAML::Value << num(a.seconds);
      out << YAML::Key << "algbw_bytes_per_s" << YAML::Value << num(a.algbw_bytes_per_s);
      out << YAML::Key << "busbw_bytes_per_s" << YAML::Value << num(a.busbw_bytes_per_s);
      out << YAML::Key << "method" << YAML::Value << a.method;
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  if (!out.good()) throw std::runtime_error("platform file " + path + ": " + out.GetLastError());

  write_file_atomically(path, std::string("# paradnn platform file: measured ceilings (`paradnn roofline`)\n") +
                                  out.c_str() + "\n");
}

PlatformFile load_platform_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open platform file");
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::ParserException& e) {
    throw InputError(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root.IsMap()) throw InputError(path + ": expected a platform file (a mapping with machine, compute, bandwidth)");
  return Reader(path).file(root);
}

std::string machine_file_name(const std::string& device_name) {
  std::string name;
  for (char c : device_name) {
    if (std::isalnum(static_cast<unsigned char>(c))) name += c;
    else if (!name.empty() && name.back() != '-') name += '-';
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name.empty() ? std::string("machine") : name;
}

std::string platform_file_path(const std::string& device_name) {
  return "results/platform-" + machine_file_name(device_name) + ".yaml";
}

PlatformFile load_or_measure(const std::string& path,
                             const std::function<std::optional<std::string>(const PlatformFile&)>& stale,
                             const std::function<PlatformFile()>& measure) {
  if (std::filesystem::exists(path)) {
    PlatformFile f = load_platform_file(path);
    const std::optional<std::string> why = stale ? stale(f) : std::nullopt;
    if (!why) return f;
    fmt::print(stderr, "paradnn: {}: {}: measuring again\n", path, *why);
  } else {
    fmt::print(stderr, "paradnn: no platform file at {}: measuring this machine's roofline once\n", path);
  }
  PlatformFile f = measure();
  save_platform_file(f, path);
  return f;
}

Placement place_on_roofline(double flops_per_s, double intensity, double peak_flops, double bandwidth) {
  Placement p;
  p.utilization = peak_flops > 0 ? flops_per_s / peak_flops : 0;
  p.bound = intensity * bandwidth < peak_flops ? "memory" : "compute";
  return p;
}

}  // namespace paradnn
