#include "platforms/model/scaling_model.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

#include "paradnn/error.hpp"

namespace paradnn::model {

namespace {

// Bits (Gbit/s, Gb/s) versus bytes (GB/s): case matters.
double bandwidth_unit(const std::string& u) {
  static const std::pair<const char*, double> units[] = {
      {"Tbit/s", 1e12 / 8}, {"Gbit/s", 1e9 / 8}, {"Gb/s", 1e9 / 8}, {"Mbit/s", 1e6 / 8}, {"Mb/s", 1e6 / 8},
      {"TB/s", 1e12},       {"GB/s", 1e9},       {"MB/s", 1e6}};
  for (const auto& [name, f] : units)
    if (u == name) return f;
  return 0;
}

double time_unit(const std::string& u) {
  if (u == "s") return 1;
  if (u == "ms") return 1e-3;
  if (u == "us") return 1e-6;
  if (u == "ns") return 1e-9;
  return 0;
}

}  // namespace

Network parse_network(const std::string& text) {
  static const std::regex re(R"(\s*([0-9.eE+]+)\s*([A-Za-z/]+)\s*,\s*([0-9.eE+]+)\s*([a-z]+)\s*)");
  const std::string why = "--network '" + text + "': expected BANDWIDTH,LATENCY such as 100Gbit/s,2us or 12.5GB/s,1.5us";
  std::smatch m;
  if (!std::regex_match(text, m, re)) throw InputError(why);
  const double bw = bandwidth_unit(m[2].str()), lat = time_unit(m[4].str());
  if (bw <= 0 || lat <= 0) throw InputError(why);
  Network n;
  try {
    n.bytes_per_s = std::stod(m[1].str()) * bw;
    n.alpha_s = std::stod(m[3].str()) * lat;
  } catch (const std::exception&) {
    throw InputError(why);
  }
  if (!(n.bytes_per_s > 0) || !(n.alpha_s >= 0)) throw InputError(why);
  return n;
}

std::string to_string(Algorithm a) { return a == Algorithm::ring ? "ring" : "tree"; }

double allreduce_seconds(Algorithm a, double bytes, int ranks, const Network& n) {
  if (ranks <= 1 || bytes <= 0) return 0;
  const double r = ranks;
  if (a == Algorithm::ring) return 2 * (r - 1) * n.alpha_s + 2 * (r - 1) / r * bytes / n.bytes_per_s;
  return 2 * std::ceil(std::log2(r)) * (n.alpha_s + bytes / n.bytes_per_s);
}

double bus_bandwidth(double algorithm_bandwidth, int ranks) {
  return ranks <= 1 ? 0 : algorithm_bandwidth * 2.0 * (ranks - 1) / ranks;
}

double StepProfile::backward_s() const {
  double s = 0;
  for (const auto& b : backward) s += b.seconds;
  return s;
}

double StepProfile::gradient_bytes() const {
  double s = 0;
  for (const auto& b : backward) s += b.gradient_bytes;
  return s;
}

StepProfile StepProfile::scaled_compute(double f) const {
  StepProfile p = *this;
  p.forward_s *= f;
  for (auto& b : p.backward) b.seconds *= f;
  return p;
}

Prediction predict_step(const StepProfile& node, int ranks, Algorithm a, const Network& n, bool overlap,
                        double bucket_bytes) {
  Prediction p;
  const double compute_end = node.forward_s + node.backward_s();
  if (!overlap) {
    p.comm_s = p.exposed_comm_s = allreduce_seconds(a, node.gradient_bytes(), ranks, n);
    p.buckets = node.gradient_bytes() > 0 ? 1 : 0;
    p.step_s = compute_end + p.comm_s + node.update_s;
    return p;
  }
  double t = node.forward_s, link_free = 0, pending = 0;
  auto send = [&](double ready) {
    const double d = allreduce_seconds(a, pending, ranks, n);
    link_free = std::max(link_free, ready) + d;
    p.comm_s += d;
    ++p.buckets;
    pending = 0;
  };
  for (const auto& b : node.backward) {
    t += b.seconds;
    pending += b.gradient_bytes;
    if (pending > 0 && pending >= bucket_bytes) send(t);
  }
  if (pending > 0) send(t);
  const double end = std::max(compute_end, link_free);
  p.exposed_comm_s = end - compute_end;
  p.overlap_fraction = p.comm_s > 0 ? 1 - p.exposed_comm_s / p.comm_s : 0;
  p.step_s = end + node.update_s;
  return p;
}

}  // namespace paradnn::model
