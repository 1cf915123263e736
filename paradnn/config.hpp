// Sweep configs: YAML files naming families, axes, fixed parameters, modes, dtypes and
// run options. Every mistake is reported with file, line, column and key before anything runs.
#pragma once
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "paradnn/filter.hpp"
#include "paradnn/point.hpp"
#include "paradnn/quantization.hpp"

namespace paradnn {

using Catalog = std::vector<FamilySpec>;

struct RunOptions {
  double warmup_s = 0.05;      // Google Benchmark MinWarmUpTime per point
  int repetitions = 5;         // timed repetitions; median, p10, p90 across them
  double min_time_s = 0.05;    // minimum time per repetition
  double memory_fraction = 0.8;  // points whose estimate exceeds this share of free memory are skipped
  double max_noise = 0;        // > 0: add repetitions until their relative stddev is at most this
  double max_time_s = 60;      // with max_noise: the most a point's timing may take
};

struct Axis {
  std::string name;
  std::vector<Value> values;
};

struct Sweep {
  std::string family;
  std::vector<Axis> axes;              // cartesian product, first axis outermost
  std::map<std::string, Value> fixed;  // hyperparameters held at one value
  std::vector<Mode> modes{Mode::train, Mode::infer};
  std::vector<DType> dtypes{DType::f32};
  Optimizer optimizer = Optimizer::sgd;
  Filter where;
  std::string origin;  // "file:line:col" of the sweep, for errors found when expanding it
};

struct Config {
  std::string path;  // file it came from
  std::string name;
  std::string text;  // the YAML as read, copied into the run manifest
  RunOptions run;
  std::vector<Sweep> sweeps;
  YAML::Node tune;   // the `tune:` section, read by the tuning module
  QuantizationConfig quant;  // `precision:` and `calibration:` (int8 inference points)
};

Config load_config(const std::string& path, const Catalog& catalog);
Config parse_config(const std::string& yaml_text, const std::string& source, const Catalog& catalog);

// The checks every YAML input file gets (configs, settings files), as InputError naming the
// file: a bounded size, a readable regular file, not empty; a UTF-8 byte order mark is
// dropped; syntax errors with line:col; no duplicate or non-scalar keys; a bounded node count.
// `what` names the kind of file in messages ("config", "settings file").
std::string read_input_file(const std::string& path, const std::string& what);
YAML::Node load_yaml(const std::string& text, const std::string& source, const std::string& what);
// "file:line:col" of a node, or the file alone where the node has no position.
std::string yaml_location(const std::string& source, const YAML::Node& at);

}  // namespace paradnn
