#include "platforms/cpu/probes/roofline_bandwidth.hpp"

#include <fmt/core.h>
#include <immintrin.h>
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>

#include "platforms/cpu/probes/cpu_platform.hpp"

namespace paradnn::cpu {

namespace {

__attribute__((target("avx512f"))) double read_sum_avx512(const double* x, size_t n) {
  // 8 independent sums: 2 loads per cycle against a 4-cycle add latency.
  __m512d s[8];
  for (auto& v : s) v = _mm512_setzero_pd();
  for (size_t i = 0; i < n; i += 64) {
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) s[k] = _mm512_add_pd(s[k], _mm512_load_pd(x + i + 8 * k));
  }
  for (int k = 1; k < 8; ++k) s[0] = _mm512_add_pd(s[0], s[k]);
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, s[0]);
  double sum = 0;
  for (double v : lanes) sum += v;
  return sum;
}

__attribute__((target("avx2"))) double read_sum_avx2(const double* x, size_t n) {
  __m256d s[8];
  for (auto& v : s) v = _mm256_setzero_pd();
  for (size_t i = 0; i < n; i += 32) {
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) s[k] = _mm256_add_pd(s[k], _mm256_load_pd(x + i + 4 * k));
  }
  for (int k = 1; k < 8; ++k) s[0] = _mm256_add_pd(s[0], s[k]);
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, s[0]);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

double read_sum_generic(const double* x, size_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < n; ++i) s += x[i];
  return s;
}

__attribute__((target("avx512f"))) void triad_avx512(double* a, const double* b, const double* c, double s, size_t n) {
  const __m512d sv = _mm512_set1_pd(s);
  for (size_t i = 0; i < n; i += 32) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const size_t j = i + 8 * k;
      _mm512_store_pd(a + j, _mm512_fmadd_pd(sv, _mm512_load_pd(c + j), _mm512_load_pd(b + j)));
    }
  }
}

__attribute__((target("avx2,fma"))) void triad_avx2(double* a, const double* b, const double* c, double s, size_t n) {
  const __m256d sv = _mm256_set1_pd(s);
  for (size_t i = 0; i < n; i += 16) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const size_t j = i + 4 * k;
      _mm256_store_pd(a + j, _mm256_fmadd_pd(sv, _mm256_load_pd(c + j), _mm256_load_pd(b + j)));
    }
  }
}

void triad_generic(double* a, const double* b, const double* c, double s, size_t n) {
  for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

int vector_bits() {
  static const int bits = [] {
    const CpuFeatures f = cpu_features();
    return f.avx512 ? 512 : f.avx2 ? 256 : 0;
  }();
  return bits;
}

// Values i mod 8 make every sum exact in double: a pass over n doubles sums to 28 n / 8.
double pattern(size_t i) { return static_cast<double>(i & 7); }
double pattern_sum(size_t n) { return 28.0 * static_cast<double>(n / 8); }

constexpr size_t kAlign = size_t{2} << 20;  // 2 MiB: lets large buffers use huge pages
constexpr size_t kPad = 136;                // doubles between triad arrays (1088 B: no 4 KiB aliasing)

struct FreeDeleter {
  void operator()(double* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<double, FreeDeleter>;

Buffer allocate(size_t doubles) {
  const size_t bytes = (doubles * sizeof(double) + kAlign - 1) / kAlign * kAlign;
  auto* p = static_cast<double*>(std::aligned_alloc(kAlign, bytes));
  if (!p) throw std::runtime_error(fmt::format("bandwidth probe: cannot allocate {} bytes", bytes));
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint; fewer TLB misses at DRAM-sized working sets
  return Buffer(p);
}

size_t multiple_of_64(double v) { return static_cast<size_t>(v) / 64 * 64; }

struct Team {
  int threads;
  size_t doubles;  // per thread
  std::vector<Buffer> buffers;
};

Team allocate_team(int threads, size_t doubles) {
  Team t{threads, doubles, std::vector<Buffer>(threads)};
  // Each thread allocates and first touches its own buffer, so its pages are near its core.
#pragma omp parallel num_threads(threads)
  {
    Buffer& b = t.buffers[omp_get_thread_num()];
    b = allocate(doubles);
    for (size_t i = 0; i < doubles; ++i) b.get()[i] = pattern(i);
  }
  return t;
}

// Repeats `pass` until a repetition lasts about `seconds`; returns bytes/s of each repetition.
Rate measure(const SweepOptions& o, double bytes_per_pass, const std::function<void(int thread, int passes)>& run,
             const std::function<void(int passes)>& check) {
  const double warm = parallel_rate(o.threads, [&](int t) {
    run(t, 1);
    return bytes_per_pass;
  });
  check(1);
  const int passes = std::max(1, static_cast<int>(std::ceil(o.seconds_per_repetition * warm / (bytes_per_pass * o.threads))));
  return best_of(o.repetitions, [&] {
    const double r = parallel_rate(o.threads, [&](int t) {
      run(t, passes);
      return bytes_per_pass * passes;
    });
    check(passes);
    return r;
  });
}

BandwidthPoint read_point(const SweepOptions& o, Team& team, double bytes) {
  const size_t n = multiple_of_64(bytes / sizeof(double));
  std::vector<double> sums(o.threads);
  auto run = [&](int t, int passes) {
    double s = 0;
    for (int p = 0; p < passes; ++p) s += read_sum(team.buffers[t].get(), n);
    sums[t] = s;
  };
  auto check = [&](int passes) {
    for (double s : sums)
      if (s != passes * pattern_sum(n))
        throw std::runtime_error(fmt::format("bandwidth probe: read of {} doubles summed to {}, expected {}", n, s,
                                             passes * pattern_sum(n)));
  };
  return {"read", o.threads, n * 8.0, measure(o, n * 8.0, run, check)};
}

BandwidthPoint triad_point(const SweepOptions& o, Team& team, double bytes) {
  const size_t n = multiple_of_64(bytes / (3 * sizeof(double)));
  auto arrays = [&](int t) {
    double* a = team.buffers[t].get();
    return std::array<double*, 3>{a, a + n + kPad, a + 2 * (n + kPad)};
  };
#pragma omp parallel num_threads(o.threads)
  {
    auto [a, b, c] = arrays(omp_get_thread_num());
    for (size_t i = 0; i < n; ++i) b[i] = pattern(i), c[i] = 1.0;
  }
  // Pass p scales by p + 1, so the final a[i] = (i mod 8) + passes shows that every pass ran.
  auto run = [&](int t, int passes) {
    auto [a, b, c] = arrays(t);
    for (int p = 0; p < passes; ++p) triad(a, b, c, p + 1.0, n);
  };
  auto check = [&](int passes) {
    size_t wrong = 0;
#pragma omp parallel num_threads(o.threads) reduction(+ : wrong)
    {
      const double* a = arrays(omp_get_thread_num())[0];
      for (size_t i = 0; i < n; ++i) wrong += a[i] != pattern(i) + passes;
    }
    if (wrong) throw std::runtime_error(fmt::format("bandwidth probe: triad left {} of {} elements wrong", wrong, n));
  };
  return {"triad", o.threads, 3 * n * 8.0, measure(o, 3 * n * 8.0, run, check)};
}

}  // namespace

double read_sum(const double* x, size_t n) {
  if (vector_bits() == 512) return read_sum_avx512(x, n);
  if (vector_bits() == 256) return read_sum_avx2(x, n);
  return read_sum_generic(x, n);
}

void triad(double* a, const double* b, const double* c, double s, size_t n) {
  if (vector_bits() == 512) return triad_avx512(a, b, c, s, n);
  if (vector_bits() == 256) return triad_avx2(a, b, c, s, n);
  triad_generic(a, b, c, s, n);
}

std::vector<BandwidthPoint> bandwidth_sweep(const SweepOptions& o) {
  if (o.bytes_per_thread.empty()) return {};
  const double largest = *std::max_element(o.bytes_per_thread.begin(), o.bytes_per_thread.end());
  Team team = allocate_team(o.threads, multiple_of_64(largest / sizeof(double)) + 3 * kPad + 64);
  std::vector<BandwidthPoint> points;
  for (double b : o.bytes_per_thread) points.push_back(read_point(o, team, b));
  for (double b : o.bytes_per_thread) points.push_back(triad_point(o, team, b));
  return points;
}

}  // namespace paradnn::cpu
