// The CUDA backend. Every test first asks the backend whether a device is there and skips
// with CUDA's own error text when not. With a device, small models run one training step
// and their loss is compared with a plain CPU forward pass of the same graph (same
// weights, data and labels, read back from the GPU), and every weight gradient with
// central differences of that CPU loss, so neither side's backward code judges itself.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "paradnn/cost.hpp"
#include "paradnn/error.hpp"
#include "paradnn/graph_builder.hpp"
#include "platforms/cuda/cuda_backend.hpp"
#include "platforms/cuda/cuda_executable.hpp"
#include "platforms/cuda/cuda_roofline.hpp"
#include "platforms/registry.hpp"

namespace paradnn {
namespace {

#define SKIP_WITHOUT_GPU(backend)                                 \
  do {                                                            \
    if (auto why = (backend).unavailable()) GTEST_SKIP() << *why; \
  } while (0)

using Vec = std::vector<double>;

double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }

// A CPU forward pass of the ops the test models use, in double precision.
struct Reference {
  const Graph& g;
  std::map<std::string, Vec> params;
  Vec data, tokens, labels;

  const Vec& p(const Op& op, size_t i) const { return params.at(op.params.at(i).name); }

  double loss() const {
    std::vector<Vec> out(g.ops.size());
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op& op = g.ops[i];
      const Vec& x = op.inputs.empty() ? data : out[size_t(op.inputs[0])];
      const Dims in = op.inputs.empty() ? Dims{} : g.dims_of(op.inputs[0]);
      Vec& y = out[i];
      y.assign(size_t(elements(op.out)), 0.0);
      switch (op.kind) {
        case OpKind::input: y = data; break;
        case OpKind::token_input: y = tokens; break;
        case OpKind::embedding: {
          const int64_t e = op.out[2];
          for (size_t r = 0; r < x.size(); ++r)
            for (int64_t c = 0; c < e; ++c) y[r * size_t(e) + size_t(c)] = p(op, 0)[size_t(x[r]) * size_t(e) + size_t(c)];
          break;
        }
        case OpKind::dense: {
          const GemmRows gr = dense_gemm_rows(in);
          const int64_t o = op.out.back();
          for (int64_t r = 0; r < gr.rows; ++r)
            for (int64_t j = 0; j < o; ++j) {
              double s = op.bias ? p(op, 1)[size_t(j)] : 0;
              for (int64_t k = 0; k < gr.features; ++k) s += x[size_t(r * gr.features + k)] * p(op, 0)[size_t(j * gr.features + k)];
              y[size_t(r * o + j)] = s;
            }
          break;
        }
        case OpKind::conv: {
          const int64_t n = in[0], c = in[1], h = in[2], w = in[3], k = op.out[1], oh = op.out[2], ow = op.out[3];
          for (int64_t b = 0; b < n; ++b)
            for (int64_t f = 0; f < k; ++f)
              for (int64_t u = 0; u < oh; ++u)
                for (int64_t v = 0; v < ow; ++v) {
                  double s = 0;
                  for (int64_t ch = 0; ch < c; ++ch)
                    for (int64_t a = 0; a < op.kernel; ++a)
                      for (int64_t d = 0; d < op.kernel; ++d) {
                        const int64_t hi = u * op.stride - op.pad + a, wi = v * op.stride - op.pad + d;
                        if (hi < 0 || hi >= h || wi < 0 || wi >= w) continue;
                        s += x[size_t(((b * c + ch) * h + hi) * w + wi)] *
                             p(op, 0)[size_t(((f * c + ch) * op.kernel + a) * op.kernel + d)];
                      }
                  y[size_t(((b * k + f) * oh + u) * ow + v)] = s;
                }
          break;
        }
        case OpKind::batch_norm: {  // training: batch statistics, biased variance
          const int64_t n = in[0], c = in[1], hw = elements(in) / (n * c);
          for (int64_t ch = 0; ch < c; ++ch) {
            double mean = 0, var = 0;
            for (int64_t b = 0; b < n; ++b)
              for (int64_t q = 0; q < hw; ++q) mean += x[size_t((b * c + ch) * hw + q)];
            mean /= double(n * hw);
            for (int64_t b = 0; b < n; ++b)
              for (int64_t q = 0; q < hw; ++q) var += std::pow(x[size_t((b * c + ch) * hw + q)] - mean, 2);
            var /= double(n * hw);
            for (int64_t b = 0; b < n; ++b)
              for (int64_t q = 0; q < hw; ++q) {
                const size_t at = size_t((b * c + ch) * hw + q);
                y[at] = p(op, 0)[size_t(ch)] * (x[at] - mean) / std::sqrt(var + 1e-5) + p(op, 1)[size_t(ch)];
              }
          }
          break;
        }
        case OpKind::relu:
          for (size_t j = 0; j < x.size(); ++j) y[j] = std::max(0.0, x[j]);
          break;
        case OpKind::max_pool:
        case OpKind::avg_pool: {
          const int64_t nc = in[0] * in[1], h = in[2], w = in[3], oh = op.out[2], ow = op.out[3];
          const bool max = op.kind == OpKind::max_pool;
          for (int64_t q = 0; q < nc; ++q)
            for (int64_t u = 0; u < oh; ++u)
              for (int64_t v = 0; v < ow; ++v) {
                double s = max ? -INFINITY : 0;
                int count = 0;
                for (int64_t a = 0; a < op.kernel; ++a)
                  for (int64_t d = 0; d < op.kernel; ++d) {
                    const int64_t hi = u * op.stride - op.pad + a, wi = v * op.stride - op.pad + d;
                    if (hi < 0 || hi >= h || wi < 0 || wi >= w) continue;
                    const double val = x[size_t((q * h + hi) * w + wi)];
                    s = max ? std::max(s, val) : s + val;
                    ++count;
                  }
                y[size_t((q * oh + u) * ow + v)] = max ? s : s / count;
              }
          break;
        }
        case OpKind::rnn: y = lstm(op, x, in); break;
        case OpKind::softmax_xent: {
          const int64_t classes = op.classes, rows = int64_t(x.size()) / classes;
          double total = 0;
          for (int64_t r = 0; r < rows; ++r) {
            double m = -INFINITY, s = 0;
            for (int64_t c = 0; c < classes; ++c) m = std::max(m, x[size_t(r * classes + c)]);
            for (int64_t c = 0; c < classes; ++c) s += std::exp(x[size_t(r * classes + c)] - m);
            total += std::log(s) + m - x[size_t(r * classes) + size_t(labels[size_t(r)])];
          }
          return total / double(rows);
        }
        default: ADD_FAILURE() << "reference has no " << to_string(op.kind);
      }
    }
    return NAN;
  }

  // Stacked LSTM, zero initial state, cuDNN's gate order i, f, g, o and one input bias.
  Vec lstm(const Op& op, Vec x, const Dims& in) const {
    const int64_t t_len = in[0], n = in[1], h = op.out[2];
    for (int64_t l = 0; l < op.layers; ++l) {
      const std::string pre = op.name + ".l" + std::to_string(l);
      const Vec &wx = params.at(pre + ".w_x"), &wh = params.at(pre + ".w_h"), &bias = params.at(pre + ".bias");
      const int64_t e = int64_t(x.size()) / (t_len * n);
      Vec out(size_t(t_len * n * h)), hs(size_t(n * h), 0.0), cs(size_t(n * h), 0.0);
      for (int64_t t = 0; t < t_len; ++t) {
        Vec next(size_t(n * h));
        for (int64_t b = 0; b < n; ++b)
          for (int64_t j = 0; j < h; ++j) {
            double gate[4];
            for (int g = 0; g < 4; ++g) {
              const int64_t row = g * h + j;
              double s = bias[size_t(row)];
              for (int64_t k = 0; k < e; ++k) s += wx[size_t(row * e + k)] * x[size_t((t * n + b) * e + k)];
              for (int64_t k = 0; k < h; ++k) s += wh[size_t(row * h + k)] * hs[size_t(b * h + k)];
              gate[g] = s;
            }
            double& c = cs[size_t(b * h + j)];
            c = sigmoid(gate[1]) * c + sigmoid(gate[0]) * std::tanh(gate[2]);
            next[size_t(b * h + j)] = sigmoid(gate[3]) * std::tanh(c);
          }
        hs = next;
        std::copy(hs.begin(), hs.end(), out.begin() + t * n * h);
      }
      x = out;
    }
    return x;
  }
};

Vec to_double(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }

// One f32 training step on the GPU; loss and every gradient checked against the reference.
void check_training_step(const Graph& g) {
  auto backend = cuda::make_cuda_backend();
  ASSERT_FALSE(backend->cannot_run(g, Mode::train).has_value()) << *backend->cannot_run(g, Mode::train);
  auto exe = backend->prepare(g, Mode::train, Settings{});
  auto* cu = dynamic_cast<cuda::CudaExecutable*>(exe.get());
  ASSERT_NE(cu, nullptr);
  Reference ref{g, {}, {}, {}, {}};
  for (size_t i = 0; i < g.ops.size(); ++i) {
    if (g.ops[i].kind == OpKind::input) ref.data = to_double(cu->output(int(i)));
    if (g.ops[i].kind == OpKind::token_input) ref.tokens = to_double(cu->output(int(i)));
    for (const Param& p : g.ops[i].params) ref.params[p.name] = to_double(cu->param(p.name));
  }
  ref.labels = to_double(cu->labels());
  exe->step();
  const double loss = exe->loss(), expected = ref.loss();
  EXPECT_NEAR(loss, expected, 1e-4 * (1 + std::abs(expected)));

  double largest = 0;
  for (const Op& op : g.ops)
    for (const Param& p : op.params) {
      const std::vector<float> grad = cu->param_grad(p.name);
      Vec& w = ref.params[p.name];
      ASSERT_EQ(grad.size(), w.size()) << p.name;
      for (size_t k = 0; k < w.size(); ++k) {
        const double keep = w[k], eps = 1e-5;
        w[k] = keep + eps;
        const double up = ref.loss();
        w[k] = keep - eps;
        const double down = ref.loss();
        w[k] = keep;
        const double fd = (up - down) / (2 * eps);
        largest = std::max(largest, std::abs(fd));
        EXPECT_NEAR(grad[k], fd, 2e-3 + 2e-2 * std::abs(fd)) << p.name << "[" << k << "]";
      }
    }
  EXPECT_GT(largest, 1e-3) << "all gradients vanish: the comparison would prove nothing";
}

TEST(CudaBackend, RegistryReturnsBackendOrSaysWhyNot) {
  try {
    std::unique_ptr<Backend> b = make_backend("cuda");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->name(), "cuda");
    if (auto why = b->unavailable()) {
      EXPECT_FALSE(why->empty());
      EXPECT_NE(why->find("no CUDA device"), std::string::npos) << *why;
    } else {
      EXPECT_FALSE(b->platform().device_name.empty());
    }
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA backend in this build"), std::string::npos) << e.what();
  }
}

TEST(CudaBackend, PlatformNamesDeviceAndLibraries) {
  auto b = cuda::make_cuda_backend();
  SKIP_WITHOUT_GPU(*b);
  const PlatformInfo p = b->platform();
  EXPECT_EQ(p.platform, "cuda");
  EXPECT_EQ(p.isa.rfind("sm_", 0), 0u) << p.isa;
  EXPECT_GT(p.memory_bytes, 0);
  EXPECT_TRUE(p.versions.count("cudnn"));
  EXPECT_TRUE(p.versions.count("cublas"));
}

TEST(CudaBackend, DenseMatchesReference) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  GraphBuilder b("fc", "tiny", 4, DType::f32, Optimizer::sgd);
  int x = b.input({4, 6});
  x = b.relu(b.dense(x, 5, "fc1"), "fc1.relu");
  b.softmax_xent(b.dense(x, 3, "classifier"));
  check_training_step(b.finish());
}

TEST(CudaBackend, ConvBatchNormPoolMatchReference) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  GraphBuilder b("cnn", "tiny", 2, DType::f32, Optimizer::sgd);
  int x = b.input({2, 3, 6, 6});
  x = b.relu(b.batch_norm(b.conv(x, 4, 3, 1, 1, "conv"), "conv.bn"), "conv.relu");
  x = b.max_pool(x, 2, 2, 0, "pool");
  const int shortcut = x;
  x = b.add({b.batch_norm(b.conv(x, 4, 3, 1, 1, "conv2"), "conv2.bn"), shortcut}, "add");
  x = b.global_avg_pool(x, "gap");
  b.softmax_xent(b.dense(x, 3, "classifier"));
  check_training_step(b.finish());
}

TEST(CudaBackend, LstmMatchesReference) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  GraphBuilder b("rnn", "tiny", 2, DType::f32, Optimizer::sgd);
  int x = b.token_input(3);
  x = b.embedding(x, 7, 4, "embedding");
  x = b.rnn(x, RnnCell::lstm, 2, 4, "rnn");
  b.softmax_xent(b.dense(x, 7, "projection"));
  check_training_step(b.finish());
}

// Every dtype, cell and optimizer either runs with a finite loss or is refused with a reason.
TEST(CudaBackend, MixedPrecisionStepsRunOrSayWhy) {
  auto backend = cuda::make_cuda_backend();
  SKIP_WITHOUT_GPU(*backend);
  for (DType t : {DType::f32, DType::tf32, DType::f16, DType::bf16})
    for (RnnCell cell : {RnnCell::rnn, RnnCell::lstm, RnnCell::gru}) {
      GraphBuilder b("rnn", "mixed", 8, t, Optimizer::rmsprop);
      int x = b.embedding(b.token_input(5), 50, 16, "embedding");
      b.softmax_xent(b.dense(b.rnn(x, cell, 2, 16, "rnn"), 50, "projection"));
      const Graph g = b.finish();
      try {
        auto exe = backend->prepare(g, Mode::train, Settings{});
        ASSERT_EQ(exe->clock(), Clock::device);
        EXPECT_GT(exe->step_seconds(), 0);
        EXPECT_TRUE(std::isfinite(exe->loss())) << to_string(t) << " " << to_string(cell);
        EXPECT_FALSE(exe->profile(2).empty());
        EXPECT_FALSE(exe->kernels().empty());
      } catch (const Unsupported& e) {
        EXPECT_FALSE(std::string(e.what()).empty());
      }
    }
}

TEST(CudaBackend, InferencePassRuns) {
  auto backend = cuda::make_cuda_backend();
  SKIP_WITHOUT_GPU(*backend);
  GraphBuilder b("cnn", "infer", 4, DType::f16, Optimizer::sgd);
  int x = b.input({4, 3, 16, 16});
  x = b.relu(b.batch_norm(b.conv(x, 8, 3, 2, 1, "conv"), "bn"), "relu");
  b.softmax_xent(b.dense(b.global_avg_pool(x, "gap"), 10, "classifier"));
  auto exe = backend->prepare(b.finish(), Mode::infer, Settings{});
  EXPECT_GT(exe->step_seconds(), 0);
  EXPECT_TRUE(std::isnan(exe->loss()));
}

TEST(CudaRoofline, FmaKernelsComputeWhatTheyClaim) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  for (cuda::Storage t : {cuda::Storage::f32, cuda::Storage::f16, cuda::Storage::bf16})
    EXPECT_GT(cuda::fma_throughput(t, 2).per_s, 1e11) << cuda::to_string(t);  // throws on a wrong result
}

TEST(CudaRoofline, ProbeReturnsPositiveCeilings) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  const PlatformFile f = cuda::measure_cuda_roofline(2);
  EXPECT_EQ(f.machine.platform, "cuda");
  ASSERT_EQ(f.compute.size(), 7u);
  for (const ComputeCeiling& c : f.compute) EXPECT_GT(c.flops_per_s, 0) << c.dtype << " " << c.method;
  ASSERT_EQ(f.bandwidth.size(), 3u);
  for (const BandwidthCeiling& b : f.bandwidth) EXPECT_GT(b.bytes_per_s, 0) << b.level << " " << b.kernel;
  EXPECT_GT(f.bandwidth[0].bytes_per_s, f.bandwidth[1].bytes_per_s);  // L2 above HBM
}

}  // namespace
}  // namespace paradnn
