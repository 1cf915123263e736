#include "platforms/model/step_model.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "platforms/model/op_fusion.hpp"
#include "platforms/model/scaling_model.hpp"

namespace paradnn::model {

std::string_view to_string(Ceiling c) {
  switch (c) {
    case Ceiling::matrix_unit: return "matrix_unit";
    case Ceiling::vector_unit: return "vector_unit";
    case Ceiling::hbm: return "hbm";
    case Ceiling::dispatch: return "dispatch";
    case Ceiling::infeed: return "infeed";
    case Ceiling::all_reduce: return "all_reduce";
    case Ceiling::overhead: return "overhead";
  }
  return "?";
}

UnitTimes time_segments(const std::vector<Segment>& work, DType t, const DeviceSpec& spec) {
  UnitTimes u;
  const StackTerms& stack = spec.stack;
  double dispatch = 0;
  for (const Segment& s : work) {
    double mxu = 0;
    for (const Gemm& gm : s.gemms) mxu += matrix_seconds(gm, t, spec);
    const double vpu = s.vector_ops / spec.vector_ops_per_s_per_core();
    const double hbm = s.hbm_bytes / (spec.hbm_bandwidth_per_core() * stack.memory_efficiency);
    const double r = static_cast<double>(s.repeats);
    u.matrix += mxu * r;
    u.vector += vpu * r;
    u.hbm += hbm * r;
    u.seconds += std::max({mxu, vpu, hbm, stack.op_dispatch_s}) * r;
    dispatch += stack.op_dispatch_s * r;
  }
  u.bound = u.matrix >= u.vector && u.matrix >= u.hbm ? Ceiling::matrix_unit
            : u.vector >= u.hbm                       ? Ceiling::vector_unit
                                                      : Ceiling::hbm;
  if (dispatch > std::max({u.matrix, u.vector, u.hbm})) u.bound = Ceiling::dispatch;
  return u;
}

double all_reduce_seconds(double bytes, int messages, const DeviceSlice& slice) {
  if (slice.cores <= 1 || bytes <= 0) return 0;
  const StackTerms& stack = slice.spec.stack;
  if (slice.chips == 1) {
    // Cores of one chip exchange through HBM: each reads and writes its share twice.
    const double n = slice.cores;
    return 2 * (n - 1) / n * bytes / (slice.spec.hbm_bandwidth_per_core() * stack.memory_efficiency);
  }
  // A ring over the chips per gradient tensor (the alpha-beta model of scaling_model.hpp); a
  // chip sends at half its bidirectional ICI bandwidth, times the stack's achieved fraction.
  const Network link{stack.all_reduce_latency_s, slice.spec.ici_bytes_per_s_per_chip / 2 * stack.all_reduce_efficiency};
  const int n = std::max(messages, 1);
  return n * allreduce_seconds(Algorithm::ring, bytes / n, slice.chips, link);
}

double infeed_bytes(const Graph& g) {
  double bytes = 0;
  for (const Op& op : g.ops) {
    if (op.kind == OpKind::input || op.kind == OpKind::token_input) bytes += double(elements(op.out)) * 4;
    if (op.kind == OpKind::softmax_xent) bytes += double(elements(g.dims_of(op.inputs.at(0)))) * 4;  // one-hot labels
  }
  return bytes;
}

double infeed_rate(const DeviceSlice& slice, double host_infeed_bytes_per_s) {
  const int chips_per_host = std::min(slice.chips, slice.spec.chips_per_host);
  return std::min(host_infeed_bytes_per_s, slice.spec.pcie_bytes_per_s_per_chip * chips_per_host);
}

double infeed_seconds(double bytes, const DeviceSlice& slice, double host_infeed_bytes_per_s) {
  if (bytes <= 0) return 0;
  return bytes / slice.hosts / infeed_rate(slice, host_infeed_bytes_per_s);
}

namespace {

void add_into(std::vector<Segment>& into, std::vector<Segment> more) {
  into.insert(into.end(), more.begin(), more.end());
}

// The fused op led by `leader`, in one phase.
OpPrediction predict_fusion(const Graph& g, Mode m, const DeviceSlice& slice, int leader, const std::vector<int>& members,
                            Phase ph) {
  const Op& lead = g.op(leader);
  const double share = batch_share(g.batch, slice.cores);
  const bool fwd = ph == Phase::fwd;
  std::vector<Segment> work = op_work(g, lead, ph, slice.cores, slice.spec.vmem_bytes_per_tensorcore);
  OpPrediction p;
  p.op = leader;
  p.name = lead.name;
  p.phase = fwd ? paradnn::Phase::fwd : paradnn::Phase::bwd;
  p.flops = fwd ? lead.cost.fwd_flops : lead.cost.bwd_data_flops + lead.cost.bwd_weight_flops;
  p.bytes = fwd ? lead.cost.fwd_bytes : lead.cost.bwd_bytes;
  Segment fused;      // element-wise work riding in the leader's fusion
  Segment reduction;  // batch statistics: a pass of its own after the fusion
  for (int i : members) {
    const Op& op = g.op(i);
    const double f = fwd ? op.cost.fwd_flops : op.cost.bwd_data_flops + op.cost.bwd_weight_flops;
    const double b = fused_op_bytes(op), r = reduction_pass_bytes(op, m, !fwd);
    fused.vector_ops += f * share;
    fused.hbm_bytes += b * share;
    reduction.hbm_bytes += r * share;
    p.flops += f;
    p.bytes += b + r;
    p.name += "+" + op.name;
  }
  if (work.size() == 1) {
    work[0].vector_ops += fused.vector_ops;
    work[0].hbm_bytes += fused.hbm_bytes;
  } else if (fused.vector_ops > 0 || fused.hbm_bytes > 0) {
    add_into(work, {fused});  // after a sequence of steps the fused tail runs once more
  }
  if (reduction.hbm_bytes > 0) add_into(work, {reduction});
  p.t = time_segments(work, lead.dtype, slice.spec);
  return p;
}

OpPrediction step_row(const std::string& name, paradnn::Phase phase, double seconds, Ceiling c) {
  OpPrediction p;
  p.name = name;
  p.phase = phase;
  p.t.seconds = seconds;
  p.t.bound = c;
  return p;
}

}  // namespace

StepPrediction predict_step(const Graph& g, Mode m, const DeviceSlice& slice, double host_infeed_bytes_per_s) {
  StepPrediction s;
  const DeviceSpec& spec = slice.spec;
  const std::vector<int> leader = fusion_leaders(g);
  std::vector<std::vector<int>> members(g.ops.size());
  for (size_t i = 0; i < g.ops.size(); ++i)
    if (leader[i] != static_cast<int>(i)) members[static_cast<size_t>(leader[i])].push_back(static_cast<int>(i));

  std::vector<int> leaders;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const OpKind k = g.ops[i].kind;
    if (leader[i] == static_cast<int>(i) && k != OpKind::input && k != OpKind::token_input && k != OpKind::reshape)
      leaders.push_back(static_cast<int>(i));
  }
  for (int i : leaders) s.ops.push_back(predict_fusion(g, m, slice, i, members[static_cast<size_t>(i)], Phase::fwd));
  if (m == Mode::train)
    for (auto it = leaders.rbegin(); it != leaders.rend(); ++it)
      s.ops.push_back(predict_fusion(g, m, slice, *it, members[static_cast<size_t>(*it)], Phase::bwd));
  for (const OpPrediction& p : s.ops) {
    s.compute_s += p.t.seconds;
    s.by_ceiling[static_cast<size_t>(p.t.bound)] += p.t.seconds;
  }

  if (m == Mode::train) {
    int gradient_tensors = 0;
    // Every core updates its full replica of the weights (f32 master copy and state).
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op& op = g.ops[i];
      if (op.cost.update_bytes <= 0) continue;
      Segment u;
      u.vector_ops = op.cost.update_flops;
      u.hbm_bytes = op.cost.update_bytes;
      OpPrediction p;
      p.op = static_cast<int>(i);
      p.name = op.name;
      p.phase = paradnn::Phase::update;
      p.flops = op.cost.update_flops;
      p.bytes = op.cost.update_bytes;
      p.t = time_segments({u}, DType::f32, spec);
      s.update_s += p.t.seconds;
      s.by_ceiling[static_cast<size_t>(p.t.bound)] += p.t.seconds;
      s.ops.push_back(p);
      s.gradient_bytes += op.cost.grad_bytes;
      gradient_tensors += static_cast<int>(op.params.size());
    }
    s.all_reduce_s = all_reduce_seconds(s.gradient_bytes, gradient_tensors, slice);
    s.by_ceiling[static_cast<size_t>(Ceiling::all_reduce)] = s.all_reduce_s;
    if (s.all_reduce_s > 0) s.ops.push_back(step_row("all_reduce", paradnn::Phase::comm, s.all_reduce_s, Ceiling::all_reduce));
  }
  s.device_s = s.compute_s + s.update_s + s.all_reduce_s;

  s.infeed_bytes = infeed_bytes(g);
  s.infeed_rate = infeed_rate(slice, host_infeed_bytes_per_s);
  s.infeed_s = infeed_seconds(s.infeed_bytes, slice, host_infeed_bytes_per_s);
  s.overhead_s = spec.stack.step_overhead_s;
  s.step_s = std::max(s.device_s, s.infeed_s) + s.overhead_s;
  s.by_ceiling[static_cast<size_t>(Ceiling::overhead)] = s.overhead_s;
  if (s.infeed_s > s.device_s) {
    // The device waits for data: its own ceilings are hidden behind the infeed.
    s.ops.push_back(step_row("infeed", paradnn::Phase::infeed, s.infeed_s - s.device_s, Ceiling::infeed));
    s.by_ceiling = {};
    s.by_ceiling[static_cast<size_t>(Ceiling::infeed)] = s.infeed_s;
    s.by_ceiling[static_cast<size_t>(Ceiling::overhead)] = s.overhead_s;
  }
  if (s.overhead_s > 0) s.ops.push_back(step_row("overhead", paradnn::Phase::overhead, s.overhead_s, Ceiling::overhead));
  const auto top = std::max_element(s.by_ceiling.begin(), s.by_ceiling.end());
  s.bound = static_cast<Ceiling>(top - s.by_ceiling.begin());
  s.flops = g.totals(m).flops;
  return s;
}

namespace {

// Elements of a tensor as laid out in (sublane, lane) tiles on one core: the feature dim
// minor (lanes), the batch dim second-minor (sublanes), as XLA:TPU tiles activations.
double padded_elements(const Dims& d, DType t, int64_t core_batch, int lanes) {
  const int64_t sub = sublane_tile(t);
  switch (d.size()) {
    case 2: return double(round_up(core_batch, sub)) * double(round_up(d[1], lanes));
    case 3: return double(d[0]) * double(round_up(core_batch, sub)) * double(round_up(d[2], lanes));
    case 4: return double(round_up(core_batch, sub)) * double(round_up(d[1], lanes)) * double(d[2] * d[3]);
    default: return double(elements(d));
  }
}

}  // namespace

MemoryFit check_memory(const Graph& g, Mode m, const DeviceSlice& slice) {
  MemoryFit f;
  const DeviceSpec& spec = slice.spec;
  const MemoryEstimate mem = g.memory(m);
  const double share = batch_share(g.batch, slice.cores);
  const int64_t core_batch = static_cast<int64_t>(std::ceil(double(g.batch) * share - 1e-9));
  double plain = 0, padded = 0;
  for (const Op& op : g.ops) {
    if (op.cost.output_bytes <= size_of(DType::f32) || op.out.empty()) continue;  // scalars (the loss)
    const double elem = static_cast<double>(size_of(op.dtype));
    plain += double(elements(op.out)) * share * elem;
    // A GPU keeps tensors dense; XLA:TPU lays activations out in (sublane, lane) tiles.
    padded += spec.kind == DeviceKind::gpu ? double(elements(op.out)) * share * elem
                                           : padded_elements(op.out, op.dtype, core_batch, spec.vector_lanes) * elem;
  }
  f.padding_factor = plain > 0 ? std::max(1.0, padded / plain) : 1;
  // f32 master weights (a bf16 copy is cast where it is used) and optimizer state. Gradients
  // do not accumulate: each variable is all-reduced and updated once its gradient is complete
  // (XLA schedules it so, and TF's executor runs an apply op as soon as its input is ready),
  // so one op's gradients are live at a time.
  double masters = 0, gradients = 0;
  for (const Op& op : g.ops) {
    if (op.shares_params_with >= 0) continue;
    for (const Param& q : op.params) masters += double(elements(q.dims)) * 4;
    if (m == Mode::train) gradients = std::max(gradients, op.cost.grad_bytes);
  }
  const double replica = masters + gradients + mem.optimizer;
  const double acts = (mem.activations + mem.workspace) * share * f.padding_factor;
  f.per_core_bytes = replica + acts;
  f.capacity_bytes = spec.hbm_bytes_per_core();
  if (f.per_core_bytes > f.capacity_bytes) {
    constexpr double GiB = 1 << 30;
    f.reason = fmt::format(
        "needs {:.2f} GiB per core (f32 weights, gradients and optimizer state {:.2f} GiB, activations "
        "{:.2f} GiB with padding x{:.2f}), over the {:.2f} GiB of HBM per core of {}",
        f.per_core_bytes / GiB, replica / GiB, acts / GiB, f.padding_factor, f.capacity_bytes / GiB, slice.label);
  }
  return f;
}

}  // namespace paradnn::model
