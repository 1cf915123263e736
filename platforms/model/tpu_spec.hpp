// A TPU generation as data (specs/*.yaml) and a slice of it named the way Cloud TPU names them.
//
// `tpu:v3` is one host (v3-8); `tpu:v3-32` is a slice of 32 TensorCores; for v5e and v6e the
// number counts chips (`tpu:v5e-4`), as in Cloud TPU accelerator types; `tpu:FILE.yaml` reads
// a user's spec for one host.
#pragma once
#include <string>

namespace paradnn::model {

enum class SliceUnit { tensorcores, chips };  // what the "-N" of an accelerator type counts

// Per-chip figures; every value of a shipped spec carries its source in the YAML.
struct TpuSpec {
  std::string file;  // where it was read from
  std::string generation, display_name;
  SliceUnit slice_counts = SliceUnit::tensorcores;
  int chips_per_host = 0, tensorcores_per_chip = 0, mxus_per_tensorcore = 0, mxu_size = 0;
  double clock_hz = 0;
  double peak_bf16_flops_per_chip = 0, peak_int8_ops_per_chip = 0;  // int8 0 = no int8 mode
  double hbm_bytes_per_chip = 0, hbm_bytes_per_s_per_chip = 0;
  double vmem_bytes_per_tensorcore = 0;
  int vector_sublanes = 0, vector_lanes = 0;
  double ici_bytes_per_s_per_chip = 0;   // bidirectional, all ports together
  double pcie_bytes_per_s_per_chip = 0;  // host to chip
  double step_overhead_s = 0;
  double host_infeed_bytes_per_s = 0;    // used unless the host is measured (--tpu-host this)

  double peak_per_core(bool int8) const {
    return (int8 ? peak_int8_ops_per_chip : peak_bf16_flops_per_chip) / tensorcores_per_chip;
  }
  double hbm_bytes_per_core() const { return hbm_bytes_per_chip / tensorcores_per_chip; }
  double hbm_bandwidth_per_core() const { return hbm_bytes_per_s_per_chip / tensorcores_per_chip; }
  // One element operation per lane per cycle.
  double vector_ops_per_s_per_core() const { return double(vector_sublanes) * vector_lanes * clock_hz; }
};

// Throws InputError naming file, line and key for a missing or wrongly typed field.
TpuSpec parse_spec(const std::string& yaml_text, const std::string& file);
TpuSpec load_spec(const std::string& path);

// Folder of the shipped specs: $PARADNN_TPU_SPECS, else <source dir>/platforms/model/specs.
std::string specs_dir();

struct TpuSlice {
  TpuSpec spec;
  int chips = 0, cores = 0, hosts = 0;
  std::string name;  // backend name, e.g. "tpu:v3-8"
  std::string label;  // e.g. "TPU v3-8"
};

// "v3", "v3-8", "v5e-4" or a path ending in .yaml/.yml (one host). InputError otherwise.
TpuSlice resolve_slice(const std::string& text);
TpuSlice make_slice(const TpuSpec& spec, int count);  // count in the spec's slice unit

}  // namespace paradnn::model
