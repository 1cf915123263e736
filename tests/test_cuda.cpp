// The CUDA backend. Every test first asks the backend whether a device is there and skips
// with CUDA's own error text when not. With a device, small models run one training step
// and their loss is compared with a plain CPU forward pass of the same graph (same
// weights, data and labels, read back from the GPU), and every weight gradient with
// central differences of that CPU loss, so neither side's backward code judges itself.
// The real-model ops (reshape, transpose, upsample, batched matmul, softmax, layer norm,
// focal loss, tied parameters) are checked one by one in f32, f16 and bf16 against
// tests/cpu_reference, then in small transformer- and RetinaNet-like models and in the
// smallest real models of configs/real-models.yaml.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <tuple>

#include "cpu_reference.hpp"
#include "models/real/real_models.hpp"

#include "paradnn/cost.hpp"
#include "paradnn/error.hpp"
#include "paradnn/graph_builder.hpp"
#include "platforms/cuda/cuda_backend.hpp"
#include "platforms/cuda/cuda_executable.hpp"
#include "platforms/cuda/cuda_platform.hpp"
#include "platforms/cuda/cuda_roofline.hpp"
#include "platforms/cuda/cuda_tensor_core_probe.hpp"
#include "platforms/registry.hpp"
#include "tests/test_helpers.hpp"

namespace paradnn {
namespace {

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

// The mma.sync kernel checks every thread's sum against the exact value (it throws on a
// difference); its rate must be a tensor-core rate, above the CUDA cores' FMA peak.
TEST(CudaRoofline, TensorCoreKernelsComputeWhatTheyClaim) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  if (cuda::compute_capability() < 80)
    GTEST_SKIP() << "the mma.sync probe needs sm_80 or newer; this GPU is sm_" << cuda::compute_capability();
  const double f32_fma = cuda::fma_throughput(cuda::Storage::f32, 2).per_s;
  for (DType t : {DType::f16, DType::bf16, DType::tf32}) {
    const cuda::Rate r = cuda::mma_throughput(t, 2);
    EXPECT_GT(r.per_s, f32_fma) << to_string(t);
  }
  EXPECT_THROW(cuda::mma_throughput(DType::f32, 1), Unsupported);
}

TEST(CudaRoofline, ProbeReturnsPositiveCeilings) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  const PlatformFile f = cuda::measure_cuda_roofline(2);
  EXPECT_EQ(f.machine.platform, "cuda");
  // 3 FMA kernels, 4 library GEMMs, and on sm_80+ the tensor-core kernel for f16, bf16, tf32.
  ASSERT_EQ(f.compute.size(), cuda::compute_capability() >= 80 ? 10u : 7u);
  for (const ComputeCeiling& c : f.compute) EXPECT_GT(c.flops_per_s, 0) << c.dtype << " " << c.method;
  ASSERT_EQ(f.bandwidth.size(), 3u);
  for (const BandwidthCeiling& b : f.bandwidth) EXPECT_GT(b.bytes_per_s, 0) << b.level << " " << b.kernel;
  EXPECT_GT(f.bandwidth[0].bytes_per_s, f.bandwidth[1].bytes_per_s);  // L2 above HBM
}


// --- the real-model ops, one by one, in every storage type ---

using Ref = std::function<Vec(const Vec&)>;

// Relative to the reference's largest magnitude (f32: tight; f16, bf16: their rounding).
double tolerance(DType t) { return t == DType::f32 ? 1e-4 : t == DType::f16 ? 1e-2 : 4e-2; }

using reference::rel_error;
using reference::vjp;

// One GPU training step, with the parameters as they were before it (the step updates them).
struct Step {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Executable> exe;
  cuda::CudaExecutable* cu = nullptr;
  reference::Params params;
};

Step train_step(const Graph& g) {
  Step s;
  s.backend = cuda::make_cuda_backend();
  if (auto why = s.backend->cannot_run(g, Mode::train)) ADD_FAILURE() << *why;
  s.exe = s.backend->prepare(g, Mode::train, Settings{});
  s.cu = dynamic_cast<cuda::CudaExecutable*>(s.exe.get());
  for (const Op& op : g.ops)
    for (const Param& p : op.params) s.params[p.name] = to_double(s.cu->param(p.name));
  s.exe->step();
  return s;
}

// Op `op` reading op `x`: forward against `ref`, and the gradient it passes to `x` against
// central differences of <ref(x), dy>, dy being the GPU's own gradient of the op's output.
void check_unary(const Graph& g, int x, int op, const Ref& ref, double tol) {
  Step s = train_step(g);
  ASSERT_TRUE(std::isfinite(s.exe->loss()));
  const Vec in = to_double(s.cu->output(x));
  EXPECT_LE(rel_error(s.cu->output(op), ref(in)), tol) << "forward of " << g.op(op).name;
  const Vec dy = to_double(s.cu->output_grad(op));
  EXPECT_LE(rel_error(s.cu->output_grad(x), vjp(ref, in, dy)), tol) << "gradient into " << g.op(x).name;
}

GraphBuilder builder(DType t) { return GraphBuilder("test", "real_ops", 0, t, Optimizer::sgd); }

class CudaRealOps : public ::testing::TestWithParam<DType> {};

TEST_P(CudaRealOps, ReshapeIsAViewBothWays) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  GraphBuilder b = builder(GetParam());
  const int pre = b.dense(b.input({2, 3, 4}), 6, "pre");
  const int r = b.reshape(pre, {3, 2, 6}, "r");
  b.softmax_xent(b.dense(r, 3, "head"));
  check_unary(b.finish(), pre, r, [](const Vec& x) { return x; }, tolerance(GetParam()));
}

TEST_P(CudaRealOps, ReshapeThatIsNotTheFirstGradientWriterAdds) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  GraphBuilder b = builder(GetParam());
  const int pre = b.dense(b.input({2, 6}), 6, "pre");
  const int back = b.reshape(b.reshape(pre, {3, 4}, "r1"), {2, 6}, "r2");
  const int sum = b.add({back, pre}, "sum");  // writes pre's gradient first; r1 adds
  b.softmax_xent(b.dense(sum, 3, "head"));
  const Graph g = b.finish();
  Step s = train_step(g);
  Vec twice = to_double(s.cu->output_grad(sum));
  for (double& v : twice) v *= 2;
  EXPECT_LE(rel_error(s.cu->output_grad(pre), twice), tolerance(GetParam()));
  EXPECT_LE(rel_error(s.cu->output(back), to_double(s.cu->output(pre))), 0.0);
}

TEST_P(CudaRealOps, TransposeRank3AndRank4) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  {
    GraphBuilder b = builder(GetParam());
    const int pre = b.dense(b.input({2, 3, 4}), 5, "pre");
    const int t = b.transpose(pre, {2, 0, 1}, "t");
    b.softmax_xent(b.dense(t, 3, "head"));
    check_unary(b.finish(), pre, t, [](const Vec& x) { return reference::permute({2, 3, 5}, {2, 0, 1}, x); }, 1e-6);
  }
  GraphBuilder b = builder(GetParam());
  const int pre = b.conv(b.input({2, 3, 3, 3}), 4, 1, 1, 0, "pre");
  const int t = b.transpose(pre, {0, 2, 3, 1}, "t");
  b.softmax_xent(b.dense(b.reshape(t, {2, 9 * 4}, "flat"), 3, "head"));
  check_unary(b.finish(), pre, t, [](const Vec& x) { return reference::permute({2, 4, 3, 3}, {0, 2, 3, 1}, x); },
              tolerance(GetParam()));
}

TEST_P(CudaRealOps, NearestUpsample) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  GraphBuilder b = builder(GetParam());
  const int pre = b.conv(b.input({2, 3, 3, 3}), 4, 1, 1, 0, "pre");
  const int up = b.upsample(pre, 2, "up");
  b.softmax_xent(b.dense(up, 3, "head"));
  check_unary(b.finish(), pre, up, [](const Vec& x) { return reference::upsample({2, 4, 3, 3}, 2, x); },
              tolerance(GetParam()));
}

TEST_P(CudaRealOps, BatchedMatmulBothOperandGradients) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  for (bool tb : {false, true}) {
    GraphBuilder b = builder(GetParam());
    const int a = b.dense(b.input({2, 3, 4}), 5, "a");  // [2, 3, 5]
    const int w = tb ? b.dense(b.input({2, 4, 3}), 5, "b") : b.dense(b.input({2, 5, 3}), 4, "b");  // [2, 4, 5] or [2, 5, 4]
    const int mm = b.batched_matmul(a, w, tb, "mm");  // [2, 3, 4]
    b.softmax_xent(b.dense(mm, 3, "head"));
    const Graph g = b.finish();
    Step s = train_step(g);
    const Dims da = g.dims_of(a), db = g.dims_of(w);
    const Vec va = to_double(s.cu->output(a)), vb = to_double(s.cu->output(w)), dy = to_double(s.cu->output_grad(mm));
    const double tol = tolerance(GetParam());
    EXPECT_LE(rel_error(s.cu->output(mm), reference::batched_matmul(da, db, tb, va, vb)), tol) << "transpose_b " << tb;
    EXPECT_LE(rel_error(s.cu->output_grad(a),
                        vjp([&](const Vec& x) { return reference::batched_matmul(da, db, tb, x, vb); }, va, dy)),
              tol) << "dA, transpose_b " << tb;
    EXPECT_LE(rel_error(s.cu->output_grad(w),
                        vjp([&](const Vec& x) { return reference::batched_matmul(da, db, tb, va, x); }, vb, dy)),
              tol) << "dB, transpose_b " << tb;
  }
}

TEST_P(CudaRealOps, SoftmaxFullAndCausal) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  for (bool causal : {false, true}) {
    GraphBuilder b = builder(GetParam());
    const int pre = b.dense(b.input({2, 4, 3}), 4, "pre");  // [2, 4, 4] scores
    const int sm = b.softmax(pre, causal, "softmax");
    b.softmax_xent(b.dense(sm, 3, "head"));
    const Graph g = b.finish();
    SCOPED_TRACE(causal ? "causal" : "full");
    check_unary(g, pre, sm, [&](const Vec& x) { return reference::softmax({2, 4, 4}, causal, x); }, tolerance(GetParam()));
    if (!causal) continue;
    Step s = train_step(g);  // future positions exactly zero
    const std::vector<float> y = s.cu->output(sm);
    for (int64_t p = 0; p < 2; ++p)
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = i + 1; j < 4; ++j) EXPECT_EQ(y[size_t((p * 4 + i) * 4 + j)], 0.f);
  }
}

TEST_P(CudaRealOps, LayerNormAndItsScaleAndShift) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  GraphBuilder b = builder(GetParam());
  const int pre = b.dense(b.input({3, 2, 4}), 6, "pre");
  const int ln = b.layer_norm(pre, "ln");
  b.softmax_xent(b.dense(ln, 3, "head"));
  const Graph g = b.finish();
  Step s = train_step(g);
  const Vec &gamma = s.params.at("ln.gamma"), &beta = s.params.at("ln.beta");
  const Vec x = to_double(s.cu->output(pre)), dy = to_double(s.cu->output_grad(ln));
  const double tol = tolerance(GetParam());
  EXPECT_LE(rel_error(s.cu->output(ln), reference::layer_norm(6, x, gamma, beta)), tol);
  EXPECT_LE(rel_error(s.cu->output_grad(pre), vjp([&](const Vec& v) { return reference::layer_norm(6, v, gamma, beta); }, x, dy)),
            tol);
  EXPECT_LE(rel_error(s.cu->param_grad("ln.gamma"),
                      vjp([&](const Vec& v) { return reference::layer_norm(6, x, v, beta); }, gamma, dy)),
            tol);
  EXPECT_LE(rel_error(s.cu->param_grad("ln.beta"),
                      vjp([&](const Vec& v) { return reference::layer_norm(6, x, gamma, v); }, beta, dy)),
            tol);
}

TEST_P(CudaRealOps, FocalLossAndItsGradient) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  GraphBuilder b = builder(GetParam());
  const int pre = b.dense(b.input({2, 3, 4}), 5, "pre");  // [N 2, anchors 3, K 5]
  b.focal_loss(pre);
  const Graph g = b.finish();
  Step s = train_step(g);
  const std::vector<float> labels = s.cu->labels();
  const std::vector<int32_t> target(labels.begin(), labels.end());
  ASSERT_EQ(target.size(), 30u);
  const Vec x = to_double(s.cu->output(pre));
  const double want = reference::focal_loss(x, target, 6), tol = tolerance(GetParam());
  EXPECT_NEAR(s.exe->loss(), want, 1e-4 * std::abs(want));  // f32 math on the stored logits
  const Vec grad = vjp([&](const Vec& v) { return Vec{reference::focal_loss(v, target, 6)}; }, x, {1.0});
  EXPECT_LE(rel_error(s.cu->output_grad(pre), grad), tol);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaRealOps, ::testing::Values(DType::f32, DType::f16, DType::bf16),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// The CPU backend's focal-loss targets, so both backends train on the same task.
TEST(CudaRealOps, FocalLossTargetsAreTheCpuBackends) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  GraphBuilder b = builder(DType::f32);
  b.focal_loss(b.dense(b.input({2, 3, 4}), 5, "pre"));
  const Graph g = b.finish();
  Step s = train_step(g);
  const std::vector<float> gpu_labels = s.cu->labels();
  std::vector<int32_t> mine(gpu_labels.begin(), gpu_labels.end());
  std::mt19937 rng(5);  // the CPU backend's generator (onednn_focal_loss.cpp)
  std::bernoulli_distribution positive(1.0 / 8);
  for (int32_t l : mine) EXPECT_EQ(l, positive(rng) ? 1 : 0);
}

// --- models: the loss against the reference on the GPU's weights, data and labels ---

// The reference's loss of g at `params` (data ops come first in these graphs).
struct RefModel {
  const Graph& g;
  int from = -1;
  reference::Values data;
  reference::Params params;
  std::vector<int32_t> labels;
  double loss() const {
    reference::Values v = data;
    return reference::evaluate(g, from, v, params, labels);
  }
};

RefModel reference_of(const Graph& g, const Step& s) {
  RefModel r{g, -1, {}, s.params, {}};
  for (size_t i = 0; i < g.ops.size() && (g.ops[i].kind == OpKind::input || g.ops[i].kind == OpKind::token_input); ++i) {
    r.data[int(i)] = to_double(s.cu->output(int(i)));
    r.from = int(i);
  }
  const std::vector<float> labels = s.cu->labels();
  r.labels.assign(labels.begin(), labels.end());
  return r;
}

// Every weight gradient against central differences of the reference loss; a tied
// parameter is perturbed in all its uses at once, and its users read the same gradient.
void check_gradients(const Graph& g, const Step& s, RefModel& ref) {
  double largest = 0;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    if (op.shares_params_with >= 0) continue;
    for (size_t k = 0; k < op.params.size(); ++k) {
      std::vector<std::string> names{op.params[k].name};
      for (const Op& user : g.ops)
        if (user.shares_params_with == int(i)) names.push_back(user.params.at(k).name);
      const std::vector<float> grad = s.cu->param_grad(names[0]);
      for (const std::string& n : names) EXPECT_EQ(s.cu->param_grad(n), grad) << n << " is not " << names[0] << "'s gradient";
      Vec w = ref.params.at(names[0]);
      ASSERT_EQ(grad.size(), w.size()) << names[0];
      const Vec fd = reference::central_differences(w, [&] {
        for (const std::string& n : names) ref.params[n] = w;
        return ref.loss();
      }, 1e-5);
      for (const std::string& n : names) ref.params[n] = w;
      for (size_t e = 0; e < w.size(); ++e) {
        largest = std::max(largest, std::abs(fd[e]));
        EXPECT_NEAR(grad[e], fd[e], 2e-3 + 2e-2 * std::abs(fd[e])) << names[0] << "[" << e << "]";
      }
    }
  }
  EXPECT_GT(largest, 1e-3) << "all gradients vanish: the comparison would prove nothing";
}

// models/real/transformer.cpp in miniature: tied table, multi-head attention (reshape,
// transpose, batched matmul, causal and full softmax), post-layer-norm residual blocks.
Graph mini_transformer(DType t) {
  constexpr int64_t seq = 3, batch = 2, d = 4, heads = 2, vocab = 7, ffn = 6;
  GraphBuilder b("real", "mini_transformer", batch, t, Optimizer::sgd);
  const int src = b.token_input(seq), tgt = b.token_input(seq);
  auto split = [&](int x, const std::string& n) {
    return b.transpose(b.reshape(x, {seq, batch * heads, d / heads}, n + ".heads"), {1, 0, 2}, n + ".head_major");
  };
  auto attention = [&](int q_in, int kv_in, bool causal, const std::string& n) {
    const int q = split(b.dense(q_in, d, n + ".q"), n + ".q");
    const int k = split(b.dense(kv_in, d, n + ".k"), n + ".k");
    const int v = split(b.dense(kv_in, d, n + ".v"), n + ".v");
    const int probs = b.softmax(b.batched_matmul(q, k, true, n + ".scores"), causal, n + ".softmax");
    const int ctx = b.batched_matmul(probs, v, false, n + ".context");
    const int merged = b.reshape(b.transpose(ctx, {1, 0, 2}, n + ".seq_major"), {seq, batch, d}, n + ".merge");
    return b.dense(merged, d, n + ".out");
  };
  auto norm = [&](int x, int y, const std::string& n) { return b.layer_norm(b.add({x, y}, n + ".add"), n + ".norm"); };
  const int table = b.embedding(src, vocab, d, "embedding");
  int x = norm(table, attention(table, table, false, "enc.attn"), "enc.attn");
  x = norm(x, b.dense(b.relu(b.dense(x, ffn, "enc.fc1"), "enc.relu"), d, "enc.fc2"), "enc.ffn");
  int y = b.embedding(tgt, vocab, d, "target_embedding");
  b.share_params(y, table);
  y = norm(y, attention(y, y, true, "dec.self"), "dec.self");
  y = norm(y, attention(y, x, false, "dec.cross"), "dec.cross");
  const int logits = b.dense(y, vocab, "projection", false);
  b.share_params(logits, table);
  b.softmax_xent(logits);
  return b.finish();
}

// models/real/retinanet.cpp in miniature (a U-Net-like top-down path): upsample and add,
// one class head shared by two levels, anchor-major rows (reshape, transpose, reshape),
// concatenated over levels into one focal loss.
Graph mini_detector(DType t) {
  constexpr int64_t n = 2, anchors = 2, classes = 3;
  GraphBuilder b("real", "mini_detector", n, t, Optimizer::sgd);
  const int x = b.input({n, 3, 8, 8});
  const int c1 = b.relu(b.conv(x, 4, 3, 1, 1, "c1"), "c1.relu");   // [2, 4, 8, 8]
  const int c2 = b.relu(b.conv(c1, 4, 3, 2, 1, "c2"), "c2.relu");  // [2, 4, 4, 4]
  const int p1 = b.add({c1, b.upsample(c2, 2, "up")}, "merge");
  std::vector<int> levels;
  int owner = -1;
  for (auto [in, hw, name] : {std::tuple{p1, int64_t(64), "p1"}, std::tuple{c2, int64_t(16), "p2"}}) {
    const std::string nm = name;
    const int cls = b.conv_bias(in, anchors * classes, 3, 1, 1, nm + ".cls");
    if (owner < 0) owner = cls;
    else b.share_params(cls, owner);
    const int rows = b.reshape(cls, {n * anchors, classes, hw}, nm + ".rows");
    const int t2 = b.transpose(rows, {0, 2, 1}, nm + ".anchor_major");
    levels.push_back(b.reshape(t2, {n, anchors * hw, classes}, nm + ".anchors"));
  }
  b.focal_loss(b.concat(levels, "anchors"));
  return b.finish();
}

// One f32 training step of `g` on the GPU: the loss and every gradient against the CPU reference.
void expect_step_matches_reference(const Graph& g) {
  Step s = train_step(g);
  RefModel ref = reference_of(g, s);
  const double want = ref.loss();
  EXPECT_NEAR(s.exe->loss(), want, 1e-4 * (1 + std::abs(want)));
  check_gradients(g, s, ref);
}

TEST(CudaRealModels, MiniTransformerLossAndGradients) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  expect_step_matches_reference(mini_transformer(DType::f32));
}

TEST(CudaRealModels, MiniDetectorLossAndGradients) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  expect_step_matches_reference(mini_detector(DType::f32));
}

// 16-bit storage: the loss within the types' rounding of the f32 reference on the same weights.
TEST(CudaRealModels, MiniModelsInHalfPrecision) {
  SKIP_WITHOUT_GPU(*cuda::make_cuda_backend());
  for (DType t : {DType::f16, DType::bf16})
    for (const Graph& g : {mini_transformer(t), mini_detector(t)}) {
      Step s = train_step(g);
      const double want = reference_of(g, s).loss();
      EXPECT_NEAR(s.exe->loss(), want, 5e-2 * (1 + std::abs(want))) << g.name << " " << to_string(t);
    }
}

// The smallest points of configs/real-models.yaml that use the new ops: one f32 training
// step each, its loss against the reference forward pass on the GPU's weights and data
// (the CPU backend draws other initial weights, so its own loss is another number), then
// a bf16 step that must give a finite loss and a per-op profile.
class CudaRealModelSteps : public ::testing::TestWithParam<std::string> {};

Graph real_model(const std::string& name, DType t) {
  return name == "transformer" ? models::transformer(1, t, Optimizer::sgd) : models::retinanet(1, 128, t, Optimizer::sgd);
}

TEST_P(CudaRealModelSteps, F32LossMatchesReferenceAndBf16Runs) {
  auto backend = cuda::make_cuda_backend();
  SKIP_WITHOUT_GPU(*backend);
  const Graph g = real_model(GetParam(), DType::f32);
  ASSERT_FALSE(backend->cannot_run(g, Mode::train).has_value()) << *backend->cannot_run(g, Mode::train);
  Step s = train_step(g);
  const double loss = s.exe->loss(), want = reference_of(g, s).loss();
  EXPECT_NEAR(loss, want, 1e-3 * (1 + std::abs(want)));
  auto bf16 = backend->prepare(real_model(GetParam(), DType::bf16), Mode::train, Settings{});
  EXPECT_GT(bf16->step_seconds(), 0);
  EXPECT_TRUE(std::isfinite(bf16->loss()));
  EXPECT_FALSE(bf16->profile(1).empty());
}

INSTANTIATE_TEST_SUITE_P(Smallest, CudaRealModelSteps, ::testing::Values("transformer", "retinanet"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace paradnn
