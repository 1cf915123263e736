#include "runners/drivers/slurm_script.hpp"

#include <fmt/core.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "paradnn/atomic_file.hpp"
#include "paradnn/bounds.hpp"
#include "paradnn/error.hpp"

namespace paradnn {

namespace {
std::string stem_of(const std::string& path) { return std::filesystem::path(path).stem().string(); }
}  // namespace

SlurmScripts slurm_scripts(const SlurmOptions& o) {
  // Each shard is a line of the merge script and an array task: bound them up front.
  if (o.shards < 1 || o.shards > bounds::kMaxShards)
    throw InputError(fmt::format("--shards {}: expected 1..{} (README \"Input bounds\")", o.shards, bounds::kMaxShards));
  const std::string name = stem_of(o.config_path);
  std::string header = "#!/bin/bash\n";
  if (!o.partition.empty()) header += "#SBATCH --partition=" + o.partition + "\n";
  header += "#SBATCH --time=" + o.time + "\n";
  if (o.cpus > 0) header += fmt::format("#SBATCH --cpus-per-task={}\n", o.cpus);
  SlurmScripts s;
  // Each task resumes its own shard file, so a requeued task continues where it stopped.
  s.array = header + fmt::format(
      "#SBATCH --job-name=paradnn-{0}\n#SBATCH --array=1-{1}\n#SBATCH --output={2}/{0}-shard-%a.log\n"
      "set -euo pipefail\n"
      "out={2}/{0}-shard-${{SLURM_ARRAY_TASK_ID}}.csv\n"
      "resume=\"\"; [ -s \"$out\" ] && resume=--resume\n"
      "{3} run {4} --shard ${{SLURM_ARRAY_TASK_ID}}/{1} -o \"$out\" $resume -q {5}\n",
      name, o.shards, o.results_dir, o.paradnn, o.config_path, o.extra_run_args);
  std::string parts;
  for (int i = 1; i <= o.shards; ++i) parts += fmt::format(" {}/{}-shard-{}.csv", o.results_dir, name, i);
  s.merge = header + fmt::format(
      "#SBATCH --job-name=paradnn-{0}-merge\n#SBATCH --output={1}/{0}-merge.log\nset -euo pipefail\n"
      "{2} merge{3} --config {4} -o {1}/{0}.csv --force\n",
      name, o.results_dir, o.paradnn, parts, o.config_path);
  s.submit = fmt::format(
      "#!/bin/bash\n# Submits the shard array, then the merge once every shard has succeeded.\nset -euo pipefail\n"
      "cd \"$(dirname \"$0\")\"\nmkdir -p {0}\n"
      "array=$(sbatch --parsable {1}-array.sbatch)\n"
      "merge=$(sbatch --parsable --dependency=afterok:${{array%%;*}} {1}-merge.sbatch)\n"
      "echo \"array job $array, merge job $merge\"\n",
      o.results_dir, name);
  return s;
}

std::string write_slurm_scripts(const SlurmOptions& o, const std::string& dir) {
  const SlurmScripts s = slurm_scripts(o);
  const std::string name = stem_of(o.config_path);
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& file, const std::string& text) {
    const std::string path = dir + "/" + file;
    write_file_atomically(path, text);
    chmod(path.c_str(), 0755);
    return path;
  };
  write(name + "-array.sbatch", s.array);
  write(name + "-merge.sbatch", s.merge);
  return write(name + "-submit.sh", s.submit);
}

}  // namespace paradnn
