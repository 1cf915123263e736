#include "platforms/torch/placement.hpp"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <set>

namespace paradnn::torch {

HostCpus host_cpus() {
  HostCpus h;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &mask)) h.allowed.push_back(c);
  std::set<std::pair<int, int>> cores;
  std::set<int> sockets;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  int cpu = -1, socket = 0;
  const auto value = [&] { return line.substr(line.find(':') + 1 + (line.find(": ") != std::string::npos)); };
  while (std::getline(in, line)) {
    const bool mine = std::binary_search(h.allowed.begin(), h.allowed.end(), cpu);
    if (line.rfind("processor", 0) == 0) cpu = std::stoi(value());
    else if (line.rfind("model name", 0) == 0 && h.model.empty()) h.model = value();
    else if (line.rfind("physical id", 0) == 0 && mine) sockets.insert(socket = std::stoi(value()));
    else if (line.rfind("core id", 0) == 0 && mine) cores.insert({socket, std::stoi(value())});
  }
  const int n = static_cast<int>(h.allowed.size());
  h.cores = cores.empty() ? n : static_cast<int>(cores.size());
  h.sockets = std::max<int>(1, static_cast<int>(sockets.size()));
  if (h.model.empty()) h.model = "unknown CPU";
  return h;
}

std::vector<int> pool_cpus(Affinity a, int pool, int pools, int threads, const std::vector<int>& allowed) {
  if (a == Affinity::none || allowed.empty()) return allowed;
  const int n = static_cast<int>(allowed.size());
  const int stride = a == Affinity::spread ? std::max(1, n / std::max(1, pools * threads)) : 1;
  std::set<int> out;
  for (int t = 0; t < threads; ++t) out.insert(allowed[static_cast<size_t>(((pool * threads + t) * stride) % n)]);
  return {out.begin(), out.end()};
}

}  // namespace paradnn::torch
