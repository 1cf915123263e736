// Embedding lookup: oneDNN has no gather primitive, so these are two short OpenMP loops.
// Forward copies one table row per token; backward scatter-adds the output gradient into
// a dense table gradient (as frameworks do for a dense embedding), each thread owning a
// slice of the columns so no two threads add into the same element. A table tied to
// another op's (onednn_tied_params.cpp) adds into the shared gradient.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

void build_embedding(Lowering& ctx, int i) {
  const Op& op = ctx.graph().op(i);
  const dnnl::engine& e = ctx.engine();
  const Dt t = to_dnnl(op.dtype);
  const int64_t vocab = op.params.at(0).dims[0], dim = op.params.at(0).dims[1];
  const memory::desc table_md({vocab, dim}, Dt::f32, Tag::ab), rows_md({vocab, dim}, t, Tag::ab);
  const bool owner = op.shares_params_with < 0;
  Weight& table = owner ? ctx.params().add(e, ctx.stream(), i, op.name + ".table", table_md, rows_md, 0.05f)
                        : tied_weight(ctx, i, 0, {vocab, dim});
  table.views[op.params.at(0).name] = 0;
  const memory lookup = ctx.in_layout(i, false, op.name + ".table", table.w, rows_md);
  memory ids = ctx.input(i, 0, plain_desc(ctx.graph().dims_of(op.inputs.at(0)), Dt::s32));
  memory y = ctx.new_output(i, plain_desc(op.out, t));
  const int64_t tokens = elements(ctx.graph().dims_of(op.inputs.at(0)));
  const size_t row_bytes = static_cast<size_t>(dim) * memory::data_type_size(t);
  const auto* id = static_cast<const int32_t*>(ids.get_data_handle());
  const auto* rows = static_cast<const char*>(lookup.get_data_handle());
  auto* out = static_cast<char*>(y.get_data_handle());
  ctx.add_kernel(i, Phase::fwd, "paradnn:gather", [=] {
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < tokens; ++k) std::memcpy(out + k * row_bytes, rows + id[k] * row_bytes, row_bytes);
  }, {ids, lookup, y});
  if (!ctx.training()) return;

  if (owner) ctx.params().train(e, ctx.stream(), table, table_md, ctx.graph().optimizer);
  memory dy = ctx.grad_as(i, plain_desc(op.out, Dt::f32));
  const auto* g = static_cast<const float*>(dy.get_data_handle());
  // A tied table's gradient is the sum over its users: only the first writer clears it.
  const memory sink = table.grad.get_desc() == table_md ? table.grad : weight_grad_sink(ctx, i, table, table_md);
  const bool clear = first_grad_writer(ctx.graph(), i) || sink.get_data_handle() != table.grad.get_data_handle();
  auto* dw = static_cast<float*>(sink.get_data_handle());
  ctx.add_kernel(i, Phase::bwd, "paradnn:scatter_add", [=] {
#pragma omp parallel
    {
      const int64_t n = omp_get_num_threads(), me = omp_get_thread_num();
      const int64_t c0 = dim * me / n, c1 = dim * (me + 1) / n;
      if (clear)
        for (int64_t r = 0; r < vocab; ++r) std::fill(dw + r * dim + c0, dw + r * dim + c1, 0.f);
      for (int64_t k = 0; k < tokens; ++k) {
        float* dst = dw + id[k] * dim;
        const float* src = g + k * dim;
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
      }
    }
  }, {ids, dy, sink});
  close_weight_grad(ctx, i, table, sink, op.name + ".table.grad");
}

}  // namespace paradnn::cpu
