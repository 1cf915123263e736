#include "platforms/cpu/backend/onednn_params.hpp"

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>

namespace paradnn::cpu {

using dnnl::memory;

std::vector<float> uniform_values(size_t n, float lo, float hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

namespace {

memory::desc plain_f32(const memory::desc& md) {
  const memory::dims d = md.dims();
  static const memory::format_tag tags[] = {memory::format_tag::undef, memory::format_tag::a, memory::format_tag::ab,
                                            memory::format_tag::abc, memory::format_tag::abcd, memory::format_tag::abcde};
  if (d.size() > 5) throw std::logic_error("plain_f32: rank above 5");
  return memory::desc(d, memory::data_type::f32, tags[d.size()]);
}

}  // namespace

void write_plain(const dnnl::engine& e, dnnl::stream& s, const memory& dst, const std::vector<float>& values) {
  const memory::desc md = plain_f32(dst.get_desc());
  if (values.size() * sizeof(float) != md.get_size()) throw std::logic_error("write_plain: size mismatch");
  memory src(md, e, const_cast<float*>(values.data()));
  memory to = dst;
  dnnl::reorder(src, to).execute(s, src, to);
  s.wait();
}

std::vector<float> read_plain(const dnnl::engine& e, dnnl::stream& s, const memory& src) {
  const memory::desc md = plain_f32(src.get_desc());
  std::vector<float> out(md.get_size() / sizeof(float));
  memory dst(md, e, out.data());
  memory from = src;
  dnnl::reorder(from, dst).execute(s, from, dst);
  s.wait();
  return out;
}

Weight& ParamStore::add(const dnnl::engine& e, dnnl::stream& s, int op, const std::string& name,
                        const memory::desc& plain, const memory::desc& compute, float bound, bool constant) {
  auto w = std::make_unique<Weight>();
  w->name = name;
  w->op = op;
  w->plain = plain;
  w->w = memory(compute, e);
  const size_t n = plain.get_size() / sizeof(float);
  std::vector<float> values = constant ? std::vector<float>(n, bound)
                                       : uniform_values(n, -bound, bound, std::hash<std::string>{}(name));
  if (const auto it = initial.find(name); it != initial.end()) {
    if (it->second.size() != n) throw std::invalid_argument(name + ": initial values of the wrong size");
    values = it->second;
  }
  memory src(plain, e, values.data());
  dnnl::reorder(src, w->w).execute(s, src, w->w);
  s.wait();
  weights_.push_back(std::move(w));
  return *weights_.back();
}

void ParamStore::train(const dnnl::engine& e, dnnl::stream& s, Weight& w, const memory::desc& diff, Optimizer opt) {
  if (diff.data_type() != memory::data_type::f32) throw std::logic_error(w.name + ": gradients must be f32");
  w.grad = memory(diff, e);
  std::memset(w.grad.get_data_handle(), 0, diff.get_size());
  if (w.w.get_desc() == diff) {
    w.master = w.w;
  } else {
    w.master = memory(diff, e);
    dnnl::reorder(w.w, w.master).execute(s, w.w, w.master);
    s.wait();
  }
  const int states = optimizer_state_per_param(opt);
  if (states >= 1) {
    w.state1 = memory(diff, e);
    std::memset(w.state1.get_data_handle(), 0, diff.get_size());
  }
  if (states >= 2) {
    w.state2 = memory(diff, e);
    std::memset(w.state2.get_data_handle(), 0, diff.get_size());
  }
}

void ParamStore::update(const Weight& w, const UpdateRule& r) {
  float* p = static_cast<float*>(w.master.get_data_handle());
  const float* g = static_cast<const float*>(w.grad.get_data_handle());
  const auto n = static_cast<int64_t>(w.grad.get_desc().get_size() / sizeof(float));
  switch (r.optimizer) {
    case Optimizer::sgd:
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) p[i] -= r.lr * g[i];
      break;
    case Optimizer::momentum: {
      float* v = static_cast<float*>(w.state1.get_data_handle());
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        v[i] = r.momentum * v[i] + g[i];
        p[i] -= r.lr * v[i];
      }
      break;
    }
    case Optimizer::rmsprop: {  // TensorFlow's RMSProp with momentum
      float* ms = static_cast<float*>(w.state1.get_data_handle());
      float* mom = static_cast<float*>(w.state2.get_data_handle());
#pragma omp parallel for simd schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        ms[i] = r.decay * ms[i] + (1 - r.decay) * g[i] * g[i];
        mom[i] = r.momentum * mom[i] + r.lr * g[i] / std::sqrt(ms[i] + r.epsilon);
        p[i] -= mom[i];
      }
      break;
    }
  }
}

Weight* ParamStore::find(const std::string& ir_name) {
  for (auto& w : weights_)
    if (w->views.count(ir_name)) return w.get();
  return nullptr;
}

std::vector<float> ParamStore::read(const dnnl::engine& e, dnnl::stream& s, const std::string& ir_name, const Param& p,
                                    bool gradient) const {
  for (const auto& w : weights_) {
    auto it = w->views.find(ir_name);
    if (it == w->views.end()) continue;
    memory src = gradient ? w->grad : (w->master ? w->master : w->w);
    if (!src) throw std::logic_error(ir_name + ": no gradient outside training");
    std::vector<float> all(w->plain.get_size() / sizeof(float));
    memory dst(w->plain, e, all.data());
    dnnl::reorder(src, dst).execute(s, src, dst);
    s.wait();
    const auto begin = all.begin() + static_cast<std::ptrdiff_t>(it->second);
    return {begin, begin + elements(p.dims)};
  }
  throw std::invalid_argument("no parameter named " + ir_name);
}

}  // namespace paradnn::cpu
