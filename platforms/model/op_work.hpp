// What one op asks of one TensorCore in one phase, under data parallelism (the batch split
// across the slice's cores, every core holding all weights): its GEMMs, its vector-unit
// element operations and its HBM bytes. FLOPs and bytes come from the op's analytic OpCost
// (paradnn/cost.cpp); this file only decides which of them are GEMMs and how they split.
#pragma once
#include <vector>

#include "paradnn/graph.hpp"
#include "platforms/model/matrix_unit.hpp"

namespace paradnn::model {

enum class Phase { fwd, bwd };

// A stretch of work repeated `repeats` times in sequence (an RNN time step); gemms,
// vector_ops and hbm_bytes are per repeat. Within one repeat the units overlap.
struct Segment {
  std::vector<Gemm> gemms;
  double vector_ops = 0;
  double hbm_bytes = 0;
  int64_t repeats = 1;
};

// Share of the batch one core runs: ceil(batch / cores) / batch.
double batch_share(int64_t batch, int cores);

// One segment for most ops; one per layer (repeated per time step) for an RNN.
std::vector<Segment> op_work(const Graph& g, const Op& op, Phase ph, int cores, double vmem_bytes);

// Bytes of the op's weights in its OpCost byte counts (read once per core, not split).
double weight_bytes_in_phase(const Op& op, Phase ph);

}  // namespace paradnn::model
