// Shape-inferring helpers that append ops to a Graph: what generators and fixed models call.
#pragma once
#include <string>

#include "paradnn/graph.hpp"

namespace paradnn {

class GraphBuilder {
 public:
  GraphBuilder(std::string family, std::string name, int64_t batch, DType dtype, Optimizer opt);

  int input(const Dims& dims);                    // [N, F] or [N, C, H, W]
  int token_input(int64_t seq_len);                // [T, N] ids
  int embedding(int x, int64_t vocab, int64_t embed, const std::string& name);
  int dense(int x, int64_t out, const std::string& name, bool bias = true);
  int conv(int x, int64_t out_channels, int64_t kernel, int64_t stride, int64_t pad, const std::string& name,
           int64_t groups = 1);
  // conv() plus a per-output-channel bias (convolutions not followed by batch norm).
  int conv_bias(int x, int64_t out_channels, int64_t kernel, int64_t stride, int64_t pad, const std::string& name,
                int64_t groups = 1);
  int batch_norm(int x, const std::string& name);
  int relu(int x, const std::string& name);
  int tanh(int x, const std::string& name);
  int max_pool(int x, int64_t kernel, int64_t stride, int64_t pad, const std::string& name);
  int avg_pool(int x, int64_t kernel, int64_t stride, int64_t pad, const std::string& name);
  int global_avg_pool(int x, const std::string& name);
  int add(const std::vector<int>& xs, const std::string& name);
  int concat(const std::vector<int>& xs, const std::string& name);
  int rnn(int x, RnnCell cell, int64_t layers, int64_t hidden, const std::string& name);
  int softmax_xent(int logits, const std::string& name = "loss");
  int layer_norm(int x, const std::string& name);
  int batched_matmul(int a, int b, bool transpose_b, const std::string& name);
  int softmax(int x, bool causal, const std::string& name);
  int upsample(int x, int64_t factor, const std::string& name);
  int reshape(int x, const Dims& dims, const std::string& name);
  int transpose(int x, const std::vector<int>& perm, const std::string& name);
  int focal_loss(int logits, const std::string& name = "loss");
  int gelu(int x, const std::string& name);
  const Dims& dims(int x) const { return g_.dims_of(x); }  // an op's output dims (valid until the next add)
  // Makes op `user` use the parameters of op `owner` (same dims), e.g. tied embeddings.
  void share_params(int user, int owner);

  Graph finish();  // counts costs; the builder is spent afterwards

 private:
  int push(Op op);
  Graph g_;
};

// Output size of a window op along one spatial dim (floor mode, as frameworks use).
int64_t window_out(int64_t in, int64_t kernel, int64_t stride, int64_t pad);

}  // namespace paradnn
