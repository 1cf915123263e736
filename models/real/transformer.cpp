// Transformer base (Vaswani et al. 2017, "Attention Is All You Need", table 3 "base"):
// 6 encoder and 6 decoder layers, d_model 512, 8 heads of 64, feed-forward 2048 with
// ReLU, post-layer-norm residual blocks (x = LayerNorm(x + sublayer(x))), one 32000-token
// vocabulary whose embedding table is shared by the source embedding, the target
// embedding and the pre-softmax projection (which has no bias); source and target
// sequences of 128 tokens; softmax cross-entropy over the vocabulary at every target step.
//
// Layout is [T, N, C]. Attention per layer: dense projections Q, K, V (with bias) ->
// reshape [T, N*8, 64] -> transpose to [N*8, T, 64] -> scores = batched_matmul(Q, K^T) ->
// softmax (causal in decoder self-attention) -> batched_matmul with V -> transpose and
// reshape back to [T, N, 512] -> output dense. The 1/sqrt(64) scale is folded into the
// Q projection, the sinusoidal positional encoding (no parameters, one add per embedded
// element) and dropout are left out; the sqrt(d_model) embedding scale likewise.
//
// Parameters: 32000 x 512 shared table = 16,384,000; encoder layer: attention 4 x (512^2
// + 512) = 1,050,624, feed-forward 512 x 2048 + 2048 + 2048 x 512 + 512 = 2,099,712, two
// layer norms 2,048: 3,152,384; decoder layer: two attentions, feed-forward, three layer
// norms: 4,204,032. Total 16,384,000 + 6 x 3,152,384 + 6 x 4,204,032 = 60,522,496.
#include "models/real/real_models.hpp"

namespace paradnn::models {

namespace {

constexpr int64_t kModel = 512, kHeads = 8, kFeedForward = 2048, kLayers = 6;

struct Shapes {
  int64_t seq, batch;
};

// [T, N, H*d] -> [N*H, T, d]
int split_heads(GraphBuilder& b, int x, Shapes s, const std::string& name) {
  const int r = b.reshape(x, {s.seq, s.batch * kHeads, kModel / kHeads}, name + ".heads");
  return b.transpose(r, {1, 0, 2}, name + ".head_major");
}

int attention(GraphBuilder& b, int query_in, int memory_in, bool causal, Shapes s, const std::string& name) {
  const int q = split_heads(b, b.dense(query_in, kModel, name + ".q"), s, name + ".q");
  const int k = split_heads(b, b.dense(memory_in, kModel, name + ".k"), s, name + ".k");
  const int v = split_heads(b, b.dense(memory_in, kModel, name + ".v"), s, name + ".v");
  const int scores = b.batched_matmul(q, k, true, name + ".scores");
  const int probs = b.softmax(scores, causal, name + ".softmax");
  const int ctx = b.batched_matmul(probs, v, false, name + ".context");
  const int seq_major = b.transpose(ctx, {1, 0, 2}, name + ".seq_major");
  const int merged = b.reshape(seq_major, {s.seq, s.batch, kModel}, name + ".merge");
  return b.dense(merged, kModel, name + ".out");
}

int feed_forward(GraphBuilder& b, int x, const std::string& name) {
  const int h = b.relu(b.dense(x, kFeedForward, name + ".fc1"), name + ".relu");
  return b.dense(h, kModel, name + ".fc2");
}

// x = LayerNorm(x + y)
int residual_norm(GraphBuilder& b, int x, int y, const std::string& name) {
  return b.layer_norm(b.add({x, y}, name + ".add"), name + ".norm");
}

}  // namespace

Graph transformer(int64_t batch, DType dtype, Optimizer opt) {
  const Shapes s{kTransformerSeqLen, batch};
  GraphBuilder b("real", "transformer_base_t" + std::to_string(s.seq), batch, dtype, opt);
  const int src = b.token_input(s.seq);
  const int tgt = b.token_input(s.seq);
  const int table = b.embedding(src, kTransformerVocab, kModel, "embedding");

  int x = table;
  for (int64_t l = 0; l < kLayers; ++l) {
    const std::string n = "encoder" + std::to_string(l);
    x = residual_norm(b, x, attention(b, x, x, false, s, n + ".self_attn"), n + ".self_attn");
    x = residual_norm(b, x, feed_forward(b, x, n + ".ffn"), n + ".ffn");
  }
  const int memory = x;

  int y = b.embedding(tgt, kTransformerVocab, kModel, "target_embedding");
  b.share_params(y, table);
  for (int64_t l = 0; l < kLayers; ++l) {
    const std::string n = "decoder" + std::to_string(l);
    y = residual_norm(b, y, attention(b, y, y, true, s, n + ".self_attn"), n + ".self_attn");
    y = residual_norm(b, y, attention(b, y, memory, false, s, n + ".cross_attn"), n + ".cross_attn");
    y = residual_norm(b, y, feed_forward(b, y, n + ".ffn"), n + ".ffn");
  }
  const int logits = b.dense(y, kTransformerVocab, "projection", false);
  b.share_params(logits, table);
  b.softmax_xent(logits);
  return b.finish();
}

}  // namespace paradnn::models
