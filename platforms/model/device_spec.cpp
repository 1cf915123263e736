#include "platforms/model/device_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "paradnn/error.hpp"

#ifndef PARADNN_SOURCE_DIR
#define PARADNN_SOURCE_DIR "."
#endif

namespace paradnn::model {

namespace {

// Reads one key of the spec's top-level map with the place of any error.
class Fields {
 public:
  Fields(const YAML::Node& root, std::string file) : root_(root), file_(std::move(file)) {}

  template <typename T>
  T get(const std::string& key, T min_value) const {
    const YAML::Node n = root_[key];
    if (!n) throw InputError(where(root_) + ": missing key '" + key + "'");
    T v{};
    try {
      if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "not a scalar");
      v = n.as<T>();
    } catch (const YAML::Exception&) {
      throw InputError(where(n) + ": key '" + key + "': expected " + (std::is_integral_v<T> ? "an integer" : "a number") +
                       ", got '" + (n.IsScalar() ? n.Scalar() : std::string("a collection")) + "'");
    }
    if (v < min_value)
      throw InputError(where(n) + ": key '" + key + "': must be at least " + std::to_string(min_value));
    return v;
  }

  // An optional key: `fallback` when absent (user specs written before the key existed).
  template <typename T>
  T get_or(const std::string& key, T fallback, T min_value) const {
    return root_[key] ? get<T>(key, min_value) : fallback;
  }

  std::string text(const std::string& key) const {
    const YAML::Node n = root_[key];
    if (!n) throw InputError(where(root_) + ": missing key '" + key + "'");
    if (!n.IsScalar()) throw InputError(where(n) + ": key '" + key + "': expected text");
    return n.Scalar();
  }

  const YAML::Node& root() const { return root_; }
  std::string where(const YAML::Node& n) const { return file_ + ":" + std::to_string(n.Mark().line + 1); }

 private:
  const YAML::Node& root_;
  std::string file_;
};

}  // namespace

namespace {

StackTerms parse_stack(const Fields& f) {
  StackTerms t;
  t.step_overhead_s = f.get<double>("step_overhead_s", 0);
  t.host_infeed_bytes_per_s = f.get<double>("host_infeed_bytes_per_s", 1);
  t.op_dispatch_s = f.get_or<double>("op_dispatch_s", 0, 0);
  t.matrix_efficiency = f.get_or<double>("matrix_efficiency", 1, 0.01);
  t.memory_efficiency = f.get_or<double>("memory_efficiency", 1, 0.01);
  t.all_reduce_efficiency = f.get_or<double>("all_reduce_efficiency", 1, 0.001);
  t.all_reduce_latency_s = f.get_or<double>("all_reduce_latency_s", 0, 0);
  return t;
}

void parse_tpu(const YAML::Node& root, const Fields& f, DeviceSpec& s) {
  const std::string unit = f.text("slice_counts");
  if (unit != "tensorcores" && unit != "chips")
    throw InputError(f.where(root["slice_counts"]) + ": key 'slice_counts': expected tensorcores or chips, got '" + unit + "'");
  s.slice_counts = unit == "chips" ? SliceUnit::chips : SliceUnit::tensorcores;
  s.chips_per_host = f.get<int>("chips_per_host", 1);
  s.tensorcores_per_chip = f.get<int>("tensorcores_per_chip", 1);
  s.mxus_per_tensorcore = f.get<int>("mxus_per_tensorcore", 1);
  s.mxu_size = f.get<int>("mxu_size", 1);
  s.clock_hz = f.get<double>("clock_hz", 1);
  const double bf16 = f.get<double>("peak_bf16_flops_per_chip", 1), int8 = f.get<double>("peak_int8_ops_per_chip", 0);
  s.matrix_peak_per_chip[DType::bf16] = bf16;
  s.matrix_peak_per_chip[DType::f32] = bf16;  // XLA's default precision: one bf16 pass
  if (int8 > 0) s.matrix_peak_per_chip[DType::int8] = int8;
  s.hbm_bytes_per_chip = f.get<double>("hbm_bytes_per_chip", 1);
  s.hbm_bytes_per_s_per_chip = f.get<double>("hbm_bytes_per_s_per_chip", 1);
  s.vmem_bytes_per_tensorcore = f.get<double>("vmem_bytes_per_tensorcore", 0);
  s.vector_sublanes = f.get<int>("vector_sublanes", 1);
  s.vector_lanes = f.get<int>("vector_lanes", 1);
  // One element operation per lane per cycle.
  s.vector_flops_per_s_per_chip = double(s.vector_sublanes) * s.vector_lanes * s.clock_hz * s.tensorcores_per_chip;
  s.ici_bytes_per_s_per_chip = f.get<double>("ici_bytes_per_s_per_chip", 1);
  s.pcie_bytes_per_s_per_chip = f.get<double>("pcie_bytes_per_s_per_chip", 1);
}

void parse_gpu(const Fields& f, DeviceSpec& s) {
  s.slice_counts = SliceUnit::chips;
  s.chips_per_host = f.get_or<int>("gpus_per_host", 8, 1);
  s.sms = f.get<int>("sms", 1);
  s.gemm_tile = f.get<int>("gemm_tile", 8);
  s.clock_hz = f.get<double>("clock_hz", 1);
  const std::pair<const char*, DType> peaks[] = {{"peak_f16_flops", DType::f16},   {"peak_bf16_flops", DType::bf16},
                                                 {"peak_tf32_flops", DType::tf32}, {"peak_f32_flops", DType::f32},
                                                 {"peak_int8_ops", DType::int8}};
  for (const auto& [key, t] : peaks)
    if (const double v = f.get<double>(key, 0); v > 0) s.matrix_peak_per_chip[t] = v;
  if (!s.matrix_peak_per_chip.count(DType::f32))
    throw InputError(f.where(f.root()) + ": key 'peak_f32_flops': a GPU spec needs its f32 rate");
  s.vector_flops_per_s_per_chip = s.matrix_peak_per_chip.at(DType::f32);  // CUDA cores
  s.hbm_bytes_per_chip = f.get<double>("hbm_bytes", 1);
  s.hbm_bytes_per_s_per_chip = f.get<double>("hbm_bytes_per_s", 1);
  s.vmem_bytes_per_tensorcore = f.get<double>("l2_bytes", 0);
  s.vector_sublanes = s.vector_lanes = 1;  // no activation tiling in memory
  s.ici_bytes_per_s_per_chip = f.get<double>("nvlink_bytes_per_s", 0);
  s.pcie_bytes_per_s_per_chip = f.get<double>("pcie_bytes_per_s", 1);
}

}  // namespace

double DeviceSpec::matrix_peak_per_core(DType t) const {
  const auto it = matrix_peak_per_chip.find(t);
  return it == matrix_peak_per_chip.end() ? 0 : it->second / tensorcores_per_chip;
}

DeviceSpec parse_spec(const std::string& yaml_text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw InputError(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root.IsMap())
    throw InputError(file + ":1: a device spec is a map of keys (see platforms/model/specs/v3.yaml or v100.yaml)");
  const Fields f(root, file);
  DeviceSpec s;
  s.file = file;
  const std::string kind = root["kind"] ? f.text("kind") : "tpu";
  if (kind != "tpu" && kind != "gpu")
    throw InputError(f.where(root["kind"]) + ": key 'kind': expected tpu or gpu, got '" + kind + "'");
  s.kind = kind == "gpu" ? DeviceKind::gpu : DeviceKind::tpu;
  s.generation = f.text("generation");
  s.display_name = f.text("display_name");
  if (s.kind == DeviceKind::tpu) parse_tpu(root, f, s);
  else parse_gpu(f, s);
  s.stack = parse_stack(f);
  return s;
}

DeviceSpec load_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read device spec '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parse_spec(text.str(), path);
}

std::string specs_dir() {
  if (const char* env = std::getenv("PARADNN_TPU_SPECS"); env && *env) return env;
  return std::string(PARADNN_SOURCE_DIR) + "/platforms/model/specs";
}

DeviceSlice make_slice(const DeviceSpec& spec, int count) {
  DeviceSlice s;
  s.spec = spec;
  const int per_chip = spec.slice_counts == SliceUnit::chips ? 1 : spec.tensorcores_per_chip;
  if (count < 1 || count % per_chip)
    throw InputError("TPU " + spec.generation + "-" + std::to_string(count) + ": the number counts " +
                     (per_chip == 1 ? "chips" : "TensorCores") + " and must be a positive multiple of " +
                     std::to_string(per_chip));
  s.chips = count / per_chip;
  s.cores = s.chips * spec.tensorcores_per_chip;
  s.hosts = (s.chips + spec.chips_per_host - 1) / spec.chips_per_host;
  if (spec.kind != DeviceKind::tpu) {
    s.label = spec.display_name;
    s.name = (spec.kind == DeviceKind::gpu ? "gpu-model:" : "cpu-model:") + spec.generation;
  } else {
    s.label = spec.display_name + "-" + std::to_string(count);
    s.name = "tpu:" + spec.generation + "-" + std::to_string(count);
  }
  return s;
}

DeviceSlice resolve_slice(const std::string& text) {
  const std::filesystem::path p(text);
  if (p.extension() == ".yaml" || p.extension() == ".yml") {
    const DeviceSpec spec = load_spec(text);
    if (spec.kind != DeviceKind::tpu) throw InputError("tpu:" + text + ": a GPU spec (kind: gpu); use gpu-model:" + text);
    const int host = spec.chips_per_host * (spec.slice_counts == SliceUnit::chips ? 1 : spec.tensorcores_per_chip);
    DeviceSlice s = make_slice(spec, host);
    s.name = "tpu:" + text;  // re-runs the same way
    return s;
  }
  const size_t dash = text.find('-');
  const std::string gen = text.substr(0, dash);
  if (gen.empty() || gen.find_first_of("/.") != std::string::npos)
    throw InputError("tpu:" + text + ": expected tpu:GENERATION[-N] (v2, v3, v4, v5e, v5p, v6e) or tpu:FILE.yaml");
  const std::string file = specs_dir() + "/" + gen + ".yaml";
  if (!std::filesystem::exists(file))
    throw InputError("tpu:" + text + ": no spec for generation '" + gen + "' in " + specs_dir() +
                     " (shipped: v2, v3, v4, v5e, v5p, v6e; or pass tpu:FILE.yaml)");
  const DeviceSpec spec = load_spec(file);
  if (spec.kind != DeviceKind::tpu) throw InputError("tpu:" + text + ": " + file + " is a GPU spec; use gpu-model:" + gen);
  int count = spec.chips_per_host * (spec.slice_counts == SliceUnit::chips ? 1 : spec.tensorcores_per_chip);
  if (dash != std::string::npos) {
    const std::string n = text.substr(dash + 1);
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || n.size() > 6)
      throw InputError("tpu:" + text + ": the part after '-' must be a number, as in tpu:v3-8");
    count = std::stoi(n);
  }
  return make_slice(spec, count);
}

DeviceSlice resolve_gpu(const std::string& text) {
  const std::filesystem::path p(text);
  const bool user = p.extension() == ".yaml" || p.extension() == ".yml";
  if (!user && (text.empty() || text.find_first_of("/.") != std::string::npos))
    throw InputError("gpu-model:" + text + ": expected gpu-model:NAME (v100, a100, h100, h200) or gpu-model:FILE.yaml");
  const std::string file = user ? text : specs_dir() + "/" + text + ".yaml";
  if (!std::filesystem::exists(file))
    throw InputError("gpu-model:" + text + ": no spec '" + file + "' (shipped: v100, a100, h100, h200; or pass gpu-model:FILE.yaml)");
  const DeviceSpec spec = load_spec(file);
  if (spec.kind != DeviceKind::gpu) throw InputError("gpu-model:" + text + ": " + file + " is not a GPU spec (kind: gpu)");
  DeviceSlice s = make_slice(spec, 1);
  if (user) s.name = "gpu-model:" + text;
  return s;
}

}  // namespace paradnn::model
