#include "platforms/cpu/backend/onednn_net.hpp"

#include <stdexcept>
#include <string>

#include "platforms/cpu/backend/onednn_ops.hpp"

namespace paradnn::cpu {

Net::Net(const Graph& g, Mode m, bool fuse, Buffers buffers)
    : Net(g, m, fuse, buffers, buffers == Buffers::shared ? std::optional(arena_for(g, m, fuse)) : std::nullopt) {}

ArenaLayout Net::arena_for(const Graph& g, Mode m, bool fuse) {
  Net probe(g, m, fuse, Buffers::shared, std::nullopt);
  for (int i = 0; i < static_cast<int>(g.ops.size()); ++i) build_op(probe.lowering(), i);
  return lay_out(probe.buffer_plan().requests());
}

Net::Net(const Graph& g, Mode m, bool fuse, Buffers buffers, std::optional<ArenaLayout> layout)
    : graph_(g),
      mode_(m),
      engine_(dnnl::engine::kind::cpu, 0),
      stream_(engine_),
      fusion_(graph_, m, fuse),
      buffers_(graph_, fusion_, m, buffers, engine_, std::move(layout)),
      calls_(graph_.ops.size(), engine_, stream_),
      lowering_(graph_, m, engine_, stream_, params_, fusion_, buffers_, calls_, loss, labels) {}

void build_op(Net& net, int i) { build_op(net.lowering(), i); }

void Net::finalize() {
  if (training()) {
    UpdateRule rule;
    rule.optimizer = graph_.optimizer;
    for (const auto& w : params_.all()) {
      if (!w->grad) continue;
      Call c;
      c.op = w->op;
      c.phase = Phase::update;
      c.name = w->name;
      c.impl = std::string("paradnn:") + std::string(to_string(rule.optimizer));
      const Weight* weight = w.get();
      c.kernel = [weight, rule] { ParamStore::update(*weight, rule); };
      calls_.add_update(std::move(c));
      if (w->separate_master()) {  // the master in another layout or type: back into w after the update
        dnnl::reorder::primitive_desc pd(engine_, w->master.get_desc(), engine_, w->w.get_desc(), make_attr());
        Call r;
        r.op = w->op;
        r.phase = Phase::update;
        r.name = w->name + ":reorder";
        r.prim = dnnl::reorder(pd);
        r.args = {{DNNL_ARG_FROM, w->master}, {DNNL_ARG_TO, w->w}};
        r.scratchpad = pd.scratchpad_desc();
        r.impl = pd.impl_info_str();
        calls_.add_update(std::move(r));
      }
    }
  }
  calls_.finalize();
  if (const auto bad = buffers_.misuses(calls_); !bad.empty())
    throw std::logic_error(graph_.name + ": the buffer plan does not hold: " + bad.front() + " (and " +
                           std::to_string(bad.size() - 1) + " more)");
}

}  // namespace paradnn::cpu
