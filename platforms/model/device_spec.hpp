// An accelerator as data (specs/*.yaml): a TPU generation or a GPU, and a slice of it named
// the way its vendor names them. Every platform the step model predicts differs only here
// (its spec) and in the lowering rules of matrix_unit.hpp; the engine is step_model.hpp.
//
// `tpu:v3` is one host (v3-8); `tpu:v3-32` is a slice of 32 TensorCores; for v5e and v6e the
// number counts chips (`tpu:v5e-4`), as in Cloud TPU accelerator types; `tpu:FILE.yaml` reads
// a user's spec for one host. `gpu-model:v100` is one GPU; `gpu-model:FILE.yaml` a user's.
#pragma once
#include <map>
#include <string>

#include "paradnn/dtype.hpp"

namespace paradnn::model {

enum class DeviceKind { tpu, gpu, cpu };  // cpu: a measured platform file (cpu_roofline_model.hpp)
enum class SliceUnit { tensorcores, chips };  // what the "-N" of an accelerator type counts

// The software stack a measurement ran under, as named terms (platforms/model/README.md).
// A spec marks each as a published figure, an estimate, or `fitted` on the calibration half
// of ParaDnn's published data (../shared/calibration), with the points it came from.
struct StackTerms {
  double step_overhead_s = 0;          // per step: session run, infeed dequeue, host sync
  double host_infeed_bytes_per_s = 0;  // host input pipeline (f32 features, one-hot f32 labels)
  double op_dispatch_s = 0;            // per op: an op takes at least this long (GPU kernel launch)
  double matrix_efficiency = 1;        // achieved fraction of the matrix unit's peak on padded tiles
  double memory_efficiency = 1;        // achieved fraction of HBM bandwidth by streaming kernels
  double all_reduce_efficiency = 1;    // achieved fraction of interconnect bandwidth (gradients)
  double all_reduce_latency_s = 0;     // per message per ring step: one message per gradient tensor
};

// Per-chip figures; every value of a shipped spec carries its source in the YAML.
struct DeviceSpec {
  std::string file;  // where it was read from
  DeviceKind kind = DeviceKind::tpu;
  std::string generation, display_name;
  SliceUnit slice_counts = SliceUnit::tensorcores;
  int chips_per_host = 0, tensorcores_per_chip = 1;
  // TPU matrix unit: mxu_size x mxu_size systolic arrays, weight stationary.
  int mxus_per_tensorcore = 0, mxu_size = 0;
  // GPU matrix unit: GEMMs run as output tiles of gemm_tile x gemm_tile, one per SM at a time.
  int sms = 0, gemm_tile = 0;
  double clock_hz = 0;
  std::map<DType, double> matrix_peak_per_chip;  // FLOP/s (OP/s for int8) per dtype it has
  double vector_flops_per_s_per_chip = 0;        // element-wise work
  double hbm_bytes_per_chip = 0, hbm_bytes_per_s_per_chip = 0;
  double vmem_bytes_per_tensorcore = 0;          // on-chip memory (TPU VMEM, GPU L2)
  int vector_sublanes = 8, vector_lanes = 128;   // TPU activation tiles (memory padding)
  double ici_bytes_per_s_per_chip = 0;           // chip-to-chip, bidirectional, all ports together
  double pcie_bytes_per_s_per_chip = 0;          // host to chip
  StackTerms stack;

  // The matrix unit's rate for `t` per core; 0 when the device has no such mode. On TPU, f32
  // matmuls run as one bf16 pass (XLA's default precision).
  double matrix_peak_per_core(DType t) const;
  double hbm_bytes_per_core() const { return hbm_bytes_per_chip / tensorcores_per_chip; }
  double hbm_bandwidth_per_core() const { return hbm_bytes_per_s_per_chip / tensorcores_per_chip; }
  double vector_ops_per_s_per_core() const { return vector_flops_per_s_per_chip / tensorcores_per_chip; }
};

// Throws InputError naming file, line and key for a missing or wrongly typed field.
DeviceSpec parse_spec(const std::string& yaml_text, const std::string& file);
DeviceSpec load_spec(const std::string& path);

// Folder of the shipped specs: $PARADNN_TPU_SPECS, else <source dir>/platforms/model/specs.
std::string specs_dir();

// A data-parallel slice: the batch split across `cores`, every core holding all weights.
struct DeviceSlice {
  DeviceSpec spec;
  int chips = 0, cores = 0, hosts = 0;
  std::string name;   // backend name, e.g. "tpu:v3-8", "gpu-model:v100"
  std::string label;  // e.g. "TPU v3-8", "NVIDIA V100"
};

// "v3", "v3-8", "v5e-4" or a path ending in .yaml/.yml (one host). InputError otherwise.
DeviceSlice resolve_slice(const std::string& text);
// "v100", "a100", "h100", "h200" or FILE.yaml: one GPU.
DeviceSlice resolve_gpu(const std::string& text);
DeviceSlice make_slice(const DeviceSpec& spec, int count);  // count in the spec's slice unit

}  // namespace paradnn::model
