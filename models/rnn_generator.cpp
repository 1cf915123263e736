// ParaDnn's recurrent family, a language model: token ids [T, N] -> embedding [vocab, E]
// -> `layers` stacked cells (rnn = tanh, lstm, gru) with hidden size E over the whole
// sequence -> dense projection to `vocab` logits at every step -> softmax cross-entropy
// averaged over steps.
#include <algorithm>

#include "models/catalog.hpp"
#include "paradnn/bounds.hpp"
#include "paradnn/graph_builder.hpp"

namespace paradnn::models {

Graph build_rnn(const Point& p) {
  const RnnCell cell = parse_cell(p.get_str("cell"));
  const int64_t layers = p.get_int("layers"), embed = p.get_int("embed"), vocab = p.get_int("vocab");
  {
    const double e = static_cast<double>(embed), v = static_cast<double>(vocab), l = static_cast<double>(layers);
    const double steps = static_cast<double>(p.get_int("seq_len")) * static_cast<double>(p.batch);
    bounds::require_model_size("rnn", l + 3, std::max({steps * std::max(v, 4 * e), v * e, l * 8 * e * e}),
                               2 * v * e + l * 8 * e * e);
  }
  const std::string name = std::string(to_string(cell)) + "_l" + std::to_string(layers) + "_e" + std::to_string(embed) +
                           "_t" + std::to_string(p.get_int("seq_len")) + "_v" + std::to_string(vocab);
  GraphBuilder b("rnn", name, p.batch, p.dtype, p.optimizer);
  int x = b.token_input(p.get_int("seq_len"));
  x = b.embedding(x, vocab, embed, "embedding");
  x = b.rnn(x, cell, layers, embed, "rnn");
  b.softmax_xent(b.dense(x, vocab, "projection"));
  return b.finish();
}

}  // namespace paradnn::models
