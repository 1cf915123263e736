#include "platforms/model/tpu_spec.hpp"

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

  std::string text(const std::string& key) const {
    const YAML::Node n = root_[key];
    if (!n) throw InputError(where(root_) + ": missing key '" + key + "'");
    if (!n.IsScalar()) throw InputError(where(n) + ": key '" + key + "': expected text");
    return n.Scalar();
  }

  std::string where(const YAML::Node& n) const { return file_ + ":" + std::to_string(n.Mark().line + 1); }

 private:
  const YAML::Node& root_;
  std::string file_;
};

}  // namespace

TpuSpec parse_spec(const std::string& yaml_text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw InputError(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) throw InputError(file + ":1: a TPU spec is a map of keys (see platforms/model/specs/v3.yaml)");
  const Fields f(root, file);
  TpuSpec s;
  s.file = file;
  s.generation = f.text("generation");
  s.display_name = f.text("display_name");
  const std::string unit = f.text("slice_counts");
  if (unit != "tensorcores" && unit != "chips")
    throw InputError(f.where(root["slice_counts"]) + ": key 'slice_counts': expected tensorcores or chips, got '" + unit + "'");
  s.slice_counts = unit == "chips" ? SliceUnit::chips : SliceUnit::tensorcores;
  s.chips_per_host = f.get<int>("chips_per_host", 1);
  s.tensorcores_per_chip = f.get<int>("tensorcores_per_chip", 1);
  s.mxus_per_tensorcore = f.get<int>("mxus_per_tensorcore", 1);
  s.mxu_size = f.get<int>("mxu_size", 1);
  s.clock_hz = f.get<double>("clock_hz", 1);
  s.peak_bf16_flops_per_chip = f.get<double>("peak_bf16_flops_per_chip", 1);
  s.peak_int8_ops_per_chip = f.get<double>("peak_int8_ops_per_chip", 0);
  s.hbm_bytes_per_chip = f.get<double>("hbm_bytes_per_chip", 1);
  s.hbm_bytes_per_s_per_chip = f.get<double>("hbm_bytes_per_s_per_chip", 1);
  s.vmem_bytes_per_tensorcore = f.get<double>("vmem_bytes_per_tensorcore", 0);
  s.vector_sublanes = f.get<int>("vector_sublanes", 1);
  s.vector_lanes = f.get<int>("vector_lanes", 1);
  s.ici_bytes_per_s_per_chip = f.get<double>("ici_bytes_per_s_per_chip", 1);
  s.pcie_bytes_per_s_per_chip = f.get<double>("pcie_bytes_per_s_per_chip", 1);
  s.step_overhead_s = f.get<double>("step_overhead_s", 0);
  s.host_infeed_bytes_per_s = f.get<double>("host_infeed_bytes_per_s", 1);
  return s;
}

TpuSpec load_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read TPU spec '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return parse_spec(text.str(), path);
}

std::string specs_dir() {
  if (const char* env = std::getenv("PARADNN_TPU_SPECS"); env && *env) return env;
  return std::string(PARADNN_SOURCE_DIR) + "/platforms/model/specs";
}

TpuSlice make_slice(const TpuSpec& spec, int count) {
  TpuSlice s;
  s.spec = spec;
  const int per_chip = spec.slice_counts == SliceUnit::chips ? 1 : spec.tensorcores_per_chip;
  if (count < 1 || count % per_chip)
    throw InputError("TPU " + spec.generation + "-" + std::to_string(count) + ": the number counts " +
                     (per_chip == 1 ? "chips" : "TensorCores") + " and must be a positive multiple of " +
                     std::to_string(per_chip));
  s.chips = count / per_chip;
  s.cores = s.chips * spec.tensorcores_per_chip;
  s.hosts = (s.chips + spec.chips_per_host - 1) / spec.chips_per_host;
  s.label = spec.display_name + "-" + std::to_string(count);
  s.name = "tpu:" + spec.generation + "-" + std::to_string(count);
  return s;
}

TpuSlice resolve_slice(const std::string& text) {
  const std::filesystem::path p(text);
  if (p.extension() == ".yaml" || p.extension() == ".yml") {
    const TpuSpec spec = load_spec(text);
    const int host = spec.chips_per_host * (spec.slice_counts == SliceUnit::chips ? 1 : spec.tensorcores_per_chip);
    TpuSlice s = make_slice(spec, host);
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
  const TpuSpec spec = load_spec(file);
  int count = spec.chips_per_host * (spec.slice_counts == SliceUnit::chips ? 1 : spec.tensorcores_per_chip);
  if (dash != std::string::npos) {
    const std::string n = text.substr(dash + 1);
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos || n.size() > 6)
      throw InputError("tpu:" + text + ": the part after '-' must be a number, as in tpu:v3-8");
    count = std::stoi(n);
  }
  return make_slice(spec, count);
}

}  // namespace paradnn::model
