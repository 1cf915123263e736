// The small kernels the libraries do not provide: synthetic data, type conversion,
// element-wise sums and copies, GELU, embedding gather/scatter, the fused softmax
// cross-entropy, and the optimizer updates. All are asynchronous on `s`.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "paradnn/graph.hpp"
#include "platforms/cuda/cuda_types.hpp"

namespace paradnn::cuda {

// Deterministic per (seed, index): the same point gives the same data on every run.
void fill_uniform(Storage t, void* p, size_t n, float lo, float hi, uint64_t seed, cudaStream_t s);
void fill_ints(int32_t* p, size_t n, int32_t bound, uint64_t seed, cudaStream_t s);  // [0, bound)
void convert(Storage from, const void* src, Storage to, void* dst, size_t n, cudaStream_t s);

// dst = src + beta * dst (beta 0 overwrites: the first writer of an accumulated gradient).
void accumulate(Storage t, void* dst, const void* src, size_t n, float beta, cudaStream_t s);
// y[r, c] += b[c] for a row-major [rows, cols] y.
void add_bias(Storage t, void* y, const void* b, int64_t rows, int64_t cols, cudaStream_t s);
// rows x cols elements between pitched row-major arrays: dst = src + beta * dst.
void copy_rows(Storage t, void* dst, int64_t dst_pitch, const void* src, int64_t src_pitch, int64_t rows,
               int64_t cols, float beta, cudaStream_t s);

void gelu_forward(Storage t, const void* x, void* y, size_t n, cudaStream_t s);
void gelu_backward(Storage t, const void* x, const void* dy, void* dx, size_t n, float beta, cudaStream_t s);

// y[r, :] = table[ids[r], :]; dtable[ids[r], :] += dy[r, :] (dtable zeroed by the caller).
void embedding_forward(Storage t, const int32_t* ids, const void* table, void* y, int64_t rows, int64_t dim,
                       cudaStream_t s);
void embedding_backward(Storage t, const int32_t* ids, const void* dy, float* dtable, int64_t rows, int64_t dim,
                        cudaStream_t s);

// Per row: loss = logsumexp(x) - x[label]; where dlogits is set it receives
// (softmax(x) - onehot) / rows + beta * dlogits. Math in f32 whatever the logits' type.
void softmax_xent(Storage t, const void* logits, const int32_t* labels, int64_t rows, int64_t classes,
                  float* row_loss, void* dlogits, float beta, cudaStream_t s);

struct UpdateRule {
  Optimizer optimizer = Optimizer::sgd;
  float lr = 0.01f, momentum = 0.9f, decay = 0.9f, epsilon = 1.0f;  // ParaDnn's RMSProp defaults
};
// Updates f32 master weights from gradients of type `gt`; writes the compute copy `w`
// (type `wt`) unless it is null (f32 training keeps no copy). s1/s2: optimizer state.
void optimizer_update(const UpdateRule& r, float* master, Storage wt, void* w, Storage gt, const void* g, float* s1,
                      float* s2, size_t n, cudaStream_t s);

}  // namespace paradnn::cuda
