#include "platforms/torch/torch_backend.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include "paradnn/error.hpp"
#include "platforms/torch/graph_json.hpp"
#include "platforms/torch/placement.hpp"
#include "platforms/torch/worker_process.hpp"

namespace paradnn::torch {

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

bool expressed(OpKind k) {
  switch (k) {
    case OpKind::input: case OpKind::token_input: case OpKind::embedding: case OpKind::dense: case OpKind::conv:
    case OpKind::batch_norm: case OpKind::relu: case OpKind::tanh: case OpKind::gelu: case OpKind::max_pool:
    case OpKind::avg_pool: case OpKind::add: case OpKind::concat: case OpKind::rnn: case OpKind::softmax_xent:
      return true;
    default:
      return false;
  }
}

class TorchBackend;

// A graph prepared in the first `pools` workers. A step of the executable is one step of
// every pool at once; its seconds are the slowest pool's (what the pools' aggregate
// throughput, pools x batch per step, needs).
class TorchExecutable : public Executable {
 public:
  TorchExecutable(TorchBackend& b, int pools, long generation, Mode m, int64_t params, std::string kernels)
      : b_(b), pools_(pools), generation_(generation), mode_(m), params_(params), kernels_(std::move(kernels)) {}

  Clock clock() const override { return Clock::device; }
  void step() override {
    run(1);
    times_.clear();
  }
  // Steps are run in chunks of about 10 ms so that a pipe round trip per step does not
  // land in the times; each value returned is one step's own seconds, measured in the worker.
  double step_seconds() override {
    if (times_.empty()) {
      run(chunk_);
      double sum = 0;
      for (double t : times_) sum += t;
      const double mean = sum / static_cast<double>(times_.size());
      chunk_ = std::clamp(static_cast<int>(0.01 / std::max(mean, 1e-7)), 1, 1000);
    }
    const double t = times_.front();
    times_.pop_front();
    return t;
  }
  double loss() const override { return mode_ == Mode::train ? loss_ : std::numeric_limits<double>::quiet_NaN(); }
  std::string kernels() const override { return kernels_; }

  std::vector<float> forward(const std::map<std::string, std::vector<float>>& params, const std::vector<float>& input);
  int64_t params() const { return params_; }

 private:
  void run(int n);
  TorchBackend& b_;
  int pools_;
  long generation_;
  Mode mode_;
  int64_t params_;
  std::string kernels_;
  int chunk_ = 1;
  std::deque<double> times_;
  double loss_ = std::numeric_limits<double>::quiet_NaN();
};

class TorchBackend : public Backend {
 public:
  TorchBackend()
      : python_(env_or("PARADNN_TORCH_PYTHON", "/usr/bin/python3")),
        script_(env_or("PARADNN_TORCH_WORKER", PARADNN_TORCH_WORKER_SCRIPT)),
        cpus_(host_cpus()) {}

  std::string name() const override { return "torch"; }

  std::optional<std::string> unavailable() const override {
    hello();
    if (error_.empty()) return std::nullopt;
    return error_;
  }

  PlatformInfo platform() const override {
    hello();
    PlatformInfo p;
    p.platform = "torch";
    const std::string blas = std::filesystem::path(blas_).parent_path().filename().string() + "/" +
                             std::filesystem::path(blas_).filename().string();
    p.device_name = fmt::format("{} (PyTorch {}, BLAS {})", cpus_.model, torch_version_, blas_.empty() ? "?" : blas);
    p.isa = capability_;
    p.cores = cpus_.cores;
    p.sockets = cpus_.sockets;
    p.hardware_threads = static_cast<int>(cpus_.allowed.size());
    p.memory_bytes = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
    p.versions["torch"] = torch_version_;
    p.versions["torch_blas"] = blas_;
    p.versions["torch_python"] = python_;
    return p;
  }

  std::optional<std::string> cannot_run(const Graph& g, Mode) const override {
    for (const Op& op : g.ops) {
      if (!expressed(op.kind))
        return fmt::format("op {} ({}) is not expressed by the torch worker", to_string(op.kind), op.name);
      if (op.shares_params_with >= 0) return "tied parameters (" + op.name + ") are not expressed by the torch worker";
      if (op.dtype != DType::f32 && op.kind != OpKind::token_input)
        return fmt::format("the torch backend runs f32 only ({} is {})", op.name, to_string(op.dtype));
    }
    if (g.loss_op() < 0 || g.op(g.loss_op()).kind != OpKind::softmax_xent) return "the torch worker needs a softmax_xent loss";
    return std::nullopt;
  }

  int threads_used(const Settings& s) const override {
    return s.intra_threads > 0 ? s.intra_threads : std::max(1, cpus_.cores / std::max(1, s.inter_pools));
  }

  std::unique_ptr<Executable> prepare(const Graph& g, Mode m, const Settings& s) override {
    if (const auto why = unavailable()) throw std::runtime_error("torch backend unavailable: " + *why);
    if (const auto why = cannot_run(g, m)) throw Unsupported(*why);
    const int pools = std::max(1, s.inter_pools), threads = threads_used(s);
    ++generation_;  // executables of earlier prepares no longer own the workers
    while (static_cast<int>(workers_.size()) < pools) workers_.push_back(std::make_unique<WorkerProcess>(python_, script_));
    const nlohmann::json graph = graph_to_json(g);
    for (int i = 0; i < pools; ++i)
      workers_[static_cast<size_t>(i)]->send({{"cmd", "prepare"}, {"graph", graph}, {"mode", std::string(to_string(m))},
                                              {"threads", threads}, {"seed", 0},
                                              {"cpus", pool_cpus(s.affinity, i, pools, threads, cpus_.allowed)}});
    int64_t params = 0;
    std::string error;
    for (int i = 0; i < pools; ++i) {  // every reply is read, so no worker is left a step behind
      try {
        params = workers_[static_cast<size_t>(i)]->receive().at("params").get<int64_t>();
      } catch (const Unsupported&) {
        throw;
      } catch (const std::exception& e) {
        if (error.empty()) error = e.what();
      }
    }
    if (!error.empty()) throw std::runtime_error(error);
    const std::string kernels = fmt::format("PyTorch {} eager, {} worker process(es) x {} thread(s), BLAS {}",
                                            torch_version_, pools, threads, blas_);
    return std::make_unique<TorchExecutable>(*this, pools, generation_, m, params, kernels);
  }

  WorkerProcess& worker(int i, long generation) {
    if (generation != generation_)
      throw std::logic_error("torch executable used after a later prepare took its workers");
    return *workers_.at(static_cast<size_t>(i));
  }

 private:
  // Starts the first worker once and asks what it runs; error_ says why it could not.
  void hello() const {
    if (said_hello_) return;
    said_hello_ = true;
    if (!std::filesystem::exists(python_)) {
      error_ = python_ + " not found (the torch backend runs Debian's python3-torch: apt-get install python3-torch)";
      return;
    }
    if (!std::filesystem::exists(script_)) {
      error_ = "torch worker script " + script_ + " not found (set PARADNN_TORCH_WORKER)";
      return;
    }
    try {
      auto w = std::make_unique<WorkerProcess>(python_, script_);
      const nlohmann::json r = w->request({{"cmd", "hello"}});
      torch_version_ = r.at("torch").get<std::string>();
      blas_ = r.at("blas").get<std::string>();
      capability_ = r.at("cpu_capability").get<std::string>();
      workers_.push_back(std::move(w));
    } catch (const std::exception& e) {
      error_ = std::string(e.what()) + " (" + python_ + " needs torch: apt-get install python3-torch)";
    }
  }

  std::string python_, script_;
  HostCpus cpus_;
  mutable bool said_hello_ = false;
  mutable std::string error_, torch_version_, blas_, capability_;
  mutable std::vector<std::unique_ptr<WorkerProcess>> workers_;
  long generation_ = 0;
};

void TorchExecutable::run(int n) {
  for (int i = 0; i < pools_; ++i) b_.worker(i, generation_).send({{"cmd", "steps"}, {"n", n}});
  std::vector<double> slowest(static_cast<size_t>(n), 0.0);
  for (int i = 0; i < pools_; ++i) {
    const nlohmann::json r = b_.worker(i, generation_).receive();
    const auto times = r.at("times").get<std::vector<double>>();
    for (size_t k = 0; k < slowest.size() && k < times.size(); ++k) slowest[k] = std::max(slowest[k], times[k]);
    if (i == 0 && r.at("loss").is_number()) loss_ = r.at("loss").get<double>();
  }
  times_.insert(times_.end(), slowest.begin(), slowest.end());
}

std::vector<float> TorchExecutable::forward(const std::map<std::string, std::vector<float>>& params,
                                            const std::vector<float>& input) {
  return b_.worker(0, generation_)
      .request({{"cmd", "forward"}, {"params", params}, {"input", input}})
      .at("output")
      .get<std::vector<float>>();
}

}  // namespace

std::unique_ptr<Backend> make_torch_backend() { return std::make_unique<TorchBackend>(); }

std::vector<float> forward_with(Executable& exe, const std::map<std::string, std::vector<float>>& params,
                                const std::vector<float>& input) {
  auto* t = dynamic_cast<TorchExecutable*>(&exe);
  if (!t) throw std::invalid_argument("forward_with: not a torch executable");
  return t->forward(params, input);
}

int64_t parameter_count(const Executable& exe) {
  const auto* t = dynamic_cast<const TorchExecutable*>(&exe);
  if (!t) throw std::invalid_argument("parameter_count: not a torch executable");
  return t->params();
}

}  // namespace paradnn::torch
