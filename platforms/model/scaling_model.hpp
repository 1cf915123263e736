// Data-parallel scaling model: predicts the step time of synchronous SGD on R nodes from a
// single node's step (forward, each op's backward, update) and the gradient buffers it
// produces, with an alpha-beta interconnect (latency alpha per message, bandwidth beta).
//
// All-reduce of n bytes over R nodes (Thakur, Rabenseifner and Gropp 2005; Patarasuk and
// Yuan 2009):
//   ring: 2(R-1) alpha + 2 (R-1)/R n / beta      (reduce-scatter then all-gather)
//   tree: 2 ceil(log2 R) (alpha + n / beta)       (binomial reduce then broadcast, unpipelined)
// The reduction arithmetic is not modelled (memory-bound, small beside the link).
//
// Overlap: gradients are all-reduced in buckets (in the order backward produces them); a
// bucket starts when backward has produced it and the previous bucket has finished (one
// link), so the step ends at max(end of backward, end of the last bucket), then the update.
// Without overlap, all gradients go as one message after backward.
#pragma once
#include <string>
#include <vector>

namespace paradnn::model {

struct Network {
  double alpha_s = 2e-6;         // per-message latency
  double bytes_per_s = 12.5e9;   // link bandwidth per direction (100 Gbit/s)
};
// "100Gbit/s,2us", "12.5GB/s,1.5us", "25Gbit/s,5us": bandwidth then latency.
Network parse_network(const std::string& text);

enum class Algorithm { ring, tree };
std::string to_string(Algorithm a);
double allreduce_seconds(Algorithm a, double bytes, int ranks, const Network& n);
// nccl-tests definitions: algbw = bytes / time; busbw = algbw * 2(R-1)/R.
double bus_bandwidth(double algorithm_bandwidth, int ranks);

// One step of a single node, backward in the order it runs.
struct StepProfile {
  double forward_s = 0, update_s = 0;
  struct BackwardOp {
    std::string name;
    double seconds = 0;
    double gradient_bytes = 0;  // gradients this op completes (0 for ops without weights)
  };
  std::vector<BackwardOp> backward;  // in backward order
  double backward_s() const;
  double gradient_bytes() const;
  double compute_s() const { return forward_s + backward_s() + update_s; }
  // The same step with forward and backward times multiplied by `f` (update unchanged: it
  // does not depend on the batch), for strong scaling's smaller per-node batch.
  StepProfile scaled_compute(double f) const;
};

struct Prediction {
  double step_s = 0;
  double comm_s = 0;            // all-reduce time if nothing overlapped it
  double exposed_comm_s = 0;    // what the step waits for
  double overlap_fraction = 0;  // 1 - exposed / comm
  int buckets = 0;
};
// Step time on `ranks` nodes with gradients in buckets of at least `bucket_bytes`.
Prediction predict_step(const StepProfile& node, int ranks, Algorithm a, const Network& n, bool overlap,
                        double bucket_bytes);

}  // namespace paradnn::model
