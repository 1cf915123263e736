// Memory bandwidth by working-set size: a read-only sum and a STREAM triad (a = b + s*c),
// each thread on its own buffer (allocated and first touched by that thread), swept from
// L1-sized to well past the last-level cache.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "platforms/cpu/probes/roofline_timing.hpp"

namespace paradnn::cpu {

// Sums n doubles (n a multiple of 64, x 64-byte aligned) with the widest loads the ISA has.
double read_sum(const double* x, size_t n);
// a[i] = b[i] + s * c[i] for n doubles (n a multiple of 64, all 64-byte aligned).
void triad(double* a, const double* b, const double* c, double s, size_t n);

struct BandwidthPoint {
  std::string kernel;            // read or triad
  int threads = 1;
  double bytes_per_thread = 0;   // working set of one thread
  Rate rate;                     // bytes/s over all threads
};

struct SweepOptions {
  int threads = 1;
  std::vector<double> bytes_per_thread;  // working sets to measure
  int repetitions = 5;
  double seconds_per_repetition = 0.01;  // passes are repeated until a repetition lasts this
};

// Both kernels at every size; throws std::runtime_error if a sum or a triad result is wrong.
std::vector<BandwidthPoint> bandwidth_sweep(const SweepOptions& o);

}  // namespace paradnn::cpu
