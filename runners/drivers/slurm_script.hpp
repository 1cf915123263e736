// Slurm job-array scripts for a sharded sweep: one array task per shard, then a merge job
// that depends on the whole array.
#pragma once
#include <string>

namespace paradnn {

struct SlurmOptions {
  std::string config_path, results_dir = "results", paradnn = "paradnn";
  std::string partition, time = "01:00:00", extra_run_args;
  int shards = 1, cpus = 0;  // cpus 0 = leave to the cluster's default
};

struct SlurmScripts {
  std::string array, merge, submit;  // file contents
};

SlurmScripts slurm_scripts(const SlurmOptions& o);
// Writes <dir>/<name>-array.sbatch, -merge.sbatch and -submit.sh; returns the submit script's path.
std::string write_slurm_scripts(const SlurmOptions& o, const std::string& dir);

}  // namespace paradnn
